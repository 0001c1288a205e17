import Foundation

/// Unsigned JSON Web Tokens for tests (`alg: none`): datapin reads only their `exp`.
public enum TestJWT {
    /// A JWT whose payload is `claims`, base64url-encoded without padding.
    public static func make(_ claims: [String: Any]) -> String {
        let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8)
        let payload = (try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data()
        return "\(base64URL(header)).\(base64URL(payload)).c2lnbmF0dXJl"
    }

    /// A JWT that expires at `exp` (seconds since 1970), with a subject and an id.
    public static func make(exp: Int, id: Int = 0) -> String {
        make(["exp": exp, "sub": "ada", "jti": "t\(id)"])
    }

    /// `data` as base64url without `=` padding (RFC 4648 §5).
    public static func base64URL(_ data: Data) -> String {
        var text = data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}

/// A loopback OAuth2 token service speaking the Resource Owner Password Credentials grant
/// (RFC 6749 §4.3: `POST` form `grant_type=password&username&password`, answered
/// `{access_token, token_type, expires_in}`, a wrong password `400 invalid_grant`), and the
/// check a resource server makes of the bearer tokens it issued. Tokens are JWTs living
/// `lifetime` seconds; it counts grants and remembers every token it issued.
public final class TokenService: @unchecked Sendable {
    public let path: String
    public let username: String
    public let password: String
    /// Seconds each token lives.
    public let lifetime: Int
    private let lock = NSLock()
    private var issued: [String] = []
    private var revoked: Set<String> = []
    private var refusedCount = 0

    public init(path: String = "/oauth/token", username: String, password: String, lifetime: Int) {
        self.path = path
        self.username = username
        self.password = password
        self.lifetime = lifetime
    }

    /// How many tokens were granted.
    public var grants: Int { lock.withLock { issued.count } }
    /// Every token granted, oldest first.
    public var tokens: [String] { lock.withLock { issued } }
    /// How many requests `authorises` refused.
    public var refusals: Int { lock.withLock { refusedCount } }

    /// The answer to a request for the token endpoint; nil for any other path.
    public func answer(_ request: LoopbackRequest) -> LoopbackResponse? {
        guard request.path == path else { return nil }
        let form = request.formFields
        guard request.method == "POST", request.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true, form["grant_type"] == "password" else {
            return .json(#"{"error":"unsupported_grant_type"}"#, status: 400)
        }
        guard form["username"] == username, form["password"] == password else {
            return .json(#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#, status: 400)
        }
        let token = lock.withLock {
            let token = TestJWT.make(exp: Int(Date().timeIntervalSince1970) + lifetime, id: issued.count + 1)
            issued.append(token)
            return token
        }
        return .json(#"{"access_token":"\#(token)","token_type":"Bearer","expires_in":\#(lifetime),"scope":"profile"}"#)
    }

    /// Whether `request` carries `Authorization: Bearer <t>` with a token this service issued,
    /// not revoked and not expired; counts the refusals.
    public func authorises(_ request: LoopbackRequest) -> Bool {
        let header = request.header("Authorization") ?? ""
        let token = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : ""
        return lock.withLock {
            var valid = issued.contains(token) && !revoked.contains(token)
            if valid, let exp = Self.exp(of: token), Double(exp) <= Date().timeIntervalSince1970 { valid = false }
            if !valid { refusedCount += 1 }
            return valid
        }
    }

    /// Refuses every token issued so far from now on.
    public func revokeAll() {
        lock.withLock { revoked.formUnion(issued) }
    }

    private static func exp(of token: String) -> Int? {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var text = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: text), let claims = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (claims["exp"] as? NSNumber)?.intValue
    }
}
