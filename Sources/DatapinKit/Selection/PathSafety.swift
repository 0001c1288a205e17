/// Decides whether a laid-out relative path may be written under `destination`. Names come from
/// archives, so a path is refused when it could leave the destination, hide a file, clash with
/// datapin's working folders, or confuse a terminal or another operating system.
public enum PathSafety {
    /// Working folders datapin keeps in `destination`; no locked file may live inside them.
    public static let reservedNames: Set<String> = [".datapin", ".datapin-partial"]
    /// The longest path component most file systems accept, in UTF-8 bytes.
    public static let maximumComponentBytes = 255

    /// nil when `relativePath` stays inside the destination, else the reason (one plain sentence).
    public static func problem(with relativePath: String) -> String? {
        if relativePath.isEmpty { return "the path is empty" }
        if relativePath.unicodeScalars.contains(where: isControl) { return "the path contains a control character" }
        if relativePath.contains("\\") { return "the path contains a backslash, which is a folder separator on Windows" }
        if relativePath.hasPrefix("/") { return "the path is absolute" }
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        if let first = components.first, reservedNames.contains(first.lowercased()) {
            return "the path starts with '\(first)', which datapin reserves for its working files"
        }
        for component in components {
            switch component {
            case "": return "the path has an empty component ('//' or a trailing '/')"
            case "..": return "the path has a '..' component, which leads out of its folder"
            case ".": return "the path has a '.' component"
            default:
                if component.utf8.count > maximumComponentBytes {
                    return "a path component is longer than \(maximumComponentBytes) bytes"
                }
            }
        }
        return nil
    }

    /// `text` with control characters written as escapes (`\n`, `\t`, `\u{1B}`), for messages.
    public static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where isControl(scalar) || (0x80...0x9F).contains(scalar.value):
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F
    }
}
