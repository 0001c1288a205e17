import Foundation

/// The spec digest of a lockfile as `LockWriter` writes it, read from its first three lines and
/// its last line without reading the entries between, so that `lock --check` takes the same
/// time whatever the lock's size.
public enum LockHeader {
    /// The digest on the `spec:` line, or nil when the file does not begin and end exactly as the
    /// writer writes them (the full reader then says what is wrong).
    public static func specDigest(contentsOf path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let prefix = "\(LockWriter.header)\nversion: \(Lockfile.currentVersion)\nspec: sha256:"
        let opening = Array(prefix.utf8)
        guard let head = try? handle.read(upToCount: opening.count + 65), head.count == opening.count + 65,
              Array(head.prefix(opening.count)) == opening, head.last == UInt8(ascii: "\n")
        else { return nil }
        let hex = head.dropFirst(opening.count).dropLast()
        guard hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        let closing = Array("\n\(LockWriter.closingLine)\n".utf8)
        guard let size = try? handle.seekToEnd(), size >= UInt64(head.count + closing.count) - 1,
              (try? handle.seek(toOffset: size - UInt64(closing.count))) != nil,
              let tail = try? handle.read(upToCount: closing.count), Array(tail) == closing
        else { return nil }
        return "sha256:" + String(decoding: hex, as: UTF8.self)
    }
}
