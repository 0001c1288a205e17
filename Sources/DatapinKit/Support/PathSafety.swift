/// Decides whether a laid-out relative path may be written under `destination`. Names come from
/// archives, so a path is refused when it could leave the destination, hide a file, clash with
/// datapin's working folders, or confuse a terminal or another operating system. The one rule
/// for paths: the lock, the layout templates of a spec, and every file a transfer writes are
/// judged by it.
public enum PathSafety {
    /// Working folders datapin keeps in `destination`; no locked file may live inside them.
    public static let reservedNames: Set<String> = [".datapin", ".datapin-partial"]
    /// The longest path component most file systems accept, in UTF-8 bytes.
    public static let maximumComponentBytes = 255

    /// nil when `relativePath` stays inside the destination, else the reason (one plain sentence).
    /// A path into datapin's working folders is refused unless `inWorkingFolders` (the files
    /// datapin writes there itself: partial downloads).
    public static func problem(with relativePath: String, inWorkingFolders: Bool = false) -> String? {
        if relativePath.isEmpty { return "the path is empty" }
        if relativePath.unicodeScalars.contains(where: isControl) { return "the path contains a control character" }
        if let scalar = relativePath.unicodeScalars.first(where: isInvisibleFormat) {
            return "the path contains the invisible format character \(codePoint(scalar)) (such as a bidirectional override), which makes a name look like another"
        }
        if relativePath.contains("\\") { return "the path contains a backslash, which is a folder separator on Windows" }
        if relativePath.hasPrefix("/") { return "the path is absolute" }
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        if !inWorkingFolders, let first = components.first, reservedNames.contains(first.lowercased()) {
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

    /// `path` with case folded, for telling whether two names could be one file on a
    /// case-insensitive file system (APFS, NTFS): upper- then lower-cased. This is a deliberately
    /// conservative approximation, not what those file systems do: it folds more than they do
    /// (`ß`, `ẞ` and `ss`, or `ﬁ` and `fi`, fold alike here, and APFS and NTFS tell them apart),
    /// so it may report a clash they would not have; it is meant never to miss one. Repeated until
    /// nothing changes (a few rounds at most), since one round leaves `ẞ` as `ß`. Canonically equivalent spellings (é as
    /// one or two code points) are already equal as Swift strings.
    public static func caseFolded(_ path: String) -> String {
        // Most names are ASCII without a capital: they are their own folding, with no copy.
        if path.utf8.allSatisfy({ $0 < 0x80 && !(0x41...0x5A).contains($0) }) { return path }
        if path.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: path.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        var folded = path.uppercased().lowercased()
        for _ in 0..<3 {
            let next = folded.uppercased().lowercased()
            if next == folded { break }
            folded = next
        }
        return folded
    }

    /// `text` with control characters and invisible format characters (bidirectional overrides,
    /// zero-width spaces) written as escapes (`\n`, `\t`, `\u{1B}`, `\u{202E}`), for messages.
    public static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where isControl(scalar) || isInvisibleFormat(scalar):
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Unicode general category Cf: bidirectional overrides and isolates (U+202A–202E,
    /// U+2066–2069), zero-width spaces and joiners (U+200B–200D), the byte-order mark, and so on.
    /// They display as nothing, or reorder what follows, so two different names can look alike.
    private static func isInvisibleFormat(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .format
    }

    /// `U+202E`: how a message names a code point.
    private static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// C0 and C1 control characters and DEL (U+009B, for one, starts a terminal escape sequence).
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
