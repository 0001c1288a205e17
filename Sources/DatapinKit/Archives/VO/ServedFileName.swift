import Foundation

/// The local name of a file a server sends, by the rules every VO adapter shares: the file name
/// a `Content-Disposition` header gives, and the last segment of a URL's path.
enum ServedFileName {
    /// The file name of a `Content-Disposition` header (RFC 6266): `filename*=UTF-8''…`
    /// (percent-decoded) before `filename="…"`; only its last path segment, as RFC 6266 §4.3
    /// asks of recipients; nil when there is none or it is empty, `.` or `..`.
    static func fromContentDisposition(_ header: String) -> String? {
        var plain: String?
        var extended: String?
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0].lowercased() {
            case "filename*":
                let value = pair[1]
                let encoded = value.range(of: "''").map { String(value[$0.upperBound...]) } ?? value
                extended = encoded.removingPercentEncoding
            case "filename":
                var value = pair[1]
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                    value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
                }
                plain = value
            default:
                continue
            }
        }
        guard let name = extended ?? plain else { return nil }
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        guard !last.isEmpty, last != ".", last != "..", !last.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return last
    }

    /// The last segment of `url`'s path, percent-decoded; nil when the path ends in `/` or is empty.
    static func lastPathSegment(of url: String) -> String? {
        let path = URLComponents(string: url)?.percentEncodedPath ?? url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        guard !path.hasSuffix("/"), let last = path.split(separator: "/").last, !last.isEmpty else { return nil }
        let decoded = String(last).removingPercentEncoding ?? String(last)
        return decoded == "." || decoded == ".." ? nil : decoded
    }
}
