import Foundation

/// The one claim datapin reads from a JSON Web Token (RFC 7519): when it expires. The signature
/// is not checked (the archive does that); the token is never written anywhere.
public enum JWT {
    /// The `exp` claim of `token` (seconds since 1970, UTC), or nil when `token` is not a JWT
    /// (three dot-separated base64url parts whose middle one is a JSON object) or its payload
    /// has no numeric `exp`.
    public static func expiry(of token: String) -> Date? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
              let payload = base64URLDecoded(parts[1]),
              let claims = try? JSONSerialization.jsonObject(with: payload) as? [String: Any],
              let exp = claims["exp"] as? NSNumber,
              exp.doubleValue.isFinite
        else { return nil }
        return Date(timeIntervalSince1970: exp.doubleValue)
    }

    /// The bytes of base64url text (RFC 4648 §5), with or without `=` padding; nil when the
    /// text holds a character outside that alphabet or has an impossible length.
    static func base64URLDecoded(_ text: Substring) -> Data? {
        var standard = String(text)
        while standard.hasSuffix("=") { standard.removeLast() }
        guard standard.utf8.allSatisfy({ isBase64URL($0) }), standard.utf8.count % 4 != 1 else { return nil }
        standard = standard.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard)
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): return true
        default: return false
        }
    }

    /// `date` as ISO 8601 in UTC, to the second (`2026-12-02T10:00:00Z`), for messages.
    public static func utcTimestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
