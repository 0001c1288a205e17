import Foundation

/// RFC 4180 CSV text, shared by `ls --format csv`, `export csv` and `products --format csv`.
package enum CSVText {
    /// One field: quoted when it holds a comma, quote or line break, inner quotes doubled.
    package static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One record with its CRLF line end.
    package static func record(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }
}
