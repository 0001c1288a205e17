import DatapinSpec
import DatapinSupport
import Foundation

/// A fast reader for lockfiles exactly as `LockWriter` writes them, so that a no-op sync of a
/// 100,000-file lock takes well under a second. It accepts only text whose every line has the
/// writer's shape and whose every value would read back the same through libyaml; anything
/// else (a hand edit, an unusual character, a damaged file) gives nil, and `LockReader` then
/// reads the file with libyaml and reports problems by line and column. What it accepts, it
/// checks as `LockReader` does, so both readers give the same `Lockfile`.
enum CanonicalLockReader {
    static func read(_ text: String) -> Lockfile? {
        var text = text
        return text.withUTF8 { buffer in read(bytes: buffer) }
    }

    /// `read` of a file's bytes as they are: what this reader accepts is ASCII, so no decoded
    /// copy of the text is needed first.
    static func read(bytes: UnsafeBufferPointer<UInt8>) -> Lockfile? {
        var reader = Cursor(bytes: bytes)
        return reader.lockfile()
    }

    /// A run of bytes of the text, read in place.
    private typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        /// The next line without its newline; nil at the end or when a line has no newline.
        mutating func nextLine() -> Bytes? {
            guard position < bytes.count, let end = bytes[position...].firstIndex(of: 0x0A) else { return nil }
            let line = bytes[position..<end]
            position = end + 1
            return line
        }

        mutating func lockfile() -> Lockfile? {
            guard let header = nextLine(), header.elementsEqual(LockWriter.header.utf8),
                  let versionLine = nextLine(), let versionText = Self.value(of: versionLine, key: "version: "),
                  versionText.allSatisfy({ (0x30...0x39).contains($0) }), versionText.count <= 4,
                  let version = Int(String(decoding: versionText, as: UTF8.self)), (1...Lockfile.currentVersion).contains(version),
                  let specLine = nextLine(), let specText = Self.value(of: specLine, key: "spec: sha256:"),
                  specText.count == 64, specText.allSatisfy(Self.isHexDigit),
                  let filesLine = nextLine()
            else { return nil }
            let spec = "sha256:" + String(decoding: specText, as: UTF8.self).lowercased()
            if filesLine.elementsEqual("files: []".utf8) {
                guard let last = nextLine(), last.elementsEqual(LockWriter.closingLine.utf8), position == bytes.count else { return nil }
                return Lockfile(version: version, specDigest: spec, files: [])
            }
            guard filesLine.elementsEqual("files:".utf8) else { return nil }
            var files: [LockEntry] = []
            // Room for every entry at once: growing by doubling would hold the old and the new
            // buffer of ~440-byte entries together (87 MB for 100,000 entries instead of 44 MB).
            files.reserveCapacity(entryCount())
            var previousPath: Bytes?
            var pending: Bytes? = nextLine()
            var closed = false
            // One buffer of raw values for every entry, cleared between them.
            var fields = [Bytes?](repeating: nil, count: Self.keyPrefixes.count)
            var strings = StringReuse()
            while let first = pending {
                guard let pathText = Self.value(of: first, key: "- path: ") else { return nil }
                for index in fields.indices { fields[index] = nil }
                fields[0] = pathText
                var lastKey = 0
                pending = nil
                while let line = nextLine() {
                    if line.first == 0x2D { pending = line; break }
                    if line.elementsEqual(LockWriter.closingLine.utf8) { closed = true; break }
                    // Keys come in the writer's order: look for the line's key after the last one.
                    var key = lastKey + 1
                    while key < Self.keyPrefixes.count, !line.starts(with: Self.keyPrefixes[key]) { key += 1 }
                    guard key < Self.keyPrefixes.count else { return nil }
                    fields[key] = line.dropFirst(Self.keyPrefixes[key].count)
                    lastKey = key
                }
                guard let entry = Self.entry(fields, strings: &strings) else { return nil }
                let path = pathText
                if let previousPath, !previousPath.lexicographicallyPrecedes(path) { return nil }
                previousPath = path
                files.append(entry)
            }
            guard closed, position == bytes.count else { return nil }
            return Lockfile(version: version, specDigest: spec, files: files)
        }

        /// How many lines from the current position on start an entry (`- path: `).
        func entryCount() -> Int {
            guard let base = bytes.baseAddress else { return 0 }
            var count = 0
            var offset = position
            while offset < bytes.count {
                if bytes[offset] == 0x2D { count += 1 }
                guard let newline = memchr(base + offset, 0x0A, bytes.count - offset) else { break }
                offset = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
            }
            return count
        }

        /// `  key: ` for every entry key, in the writer's order.
        static let keyPrefixes: [[UInt8]] = LockKey.entryKeys.map { Array("  \($0): ".utf8) }

        static func value(of line: Bytes, key: String) -> Bytes? {
            guard line.starts(with: key.utf8) else { return nil }
            return line.dropFirst(key.utf8.count)
        }

        static func isHexDigit(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)
        }

        /// The archive and dataset strings of the entry before, handed out again when the next
        /// entry names the same ones (a lock lists a dataset's files one after another), so that
        /// 100,000 entries share a few copies instead of holding one each.
        struct StringReuse {
            var archive: (bytes: Bytes, text: String)?
            var dataset: (bytes: Bytes, text: String)?
            /// The first path component last found not to be one of datapin's working folders.
            var safeFirstComponent: Bytes?
        }

        /// A lock entry from its raw values by key index, checked as `LockReader` checks it.
        static func entry(_ fields: [Bytes?], strings: inout StringReuse) -> LockEntry? {
            func text(_ index: Int) -> String?? {
                guard let raw = fields[index] else { return .some(nil) }
                guard let value = scalar(raw) else { return nil }
                return .some(value)
            }
            func required(_ index: Int) -> String? {
                guard let value = text(index), let present = value, !present.isEmpty else { return nil }
                return present
            }
            func reused(_ index: Int, _ previous: inout (bytes: Bytes, text: String)?) -> String? {
                if let raw = fields[index], let known = previous, raw.elementsEqual(known.bytes) { return known.text }
                guard let value = required(index) else { return nil }
                if let raw = fields[index] { previous = (raw, value) }
                return value
            }
            guard let path = required(0), let archive = reused(1, &strings.archive), let dataset = reused(2, &strings.dataset),
                  let uri = required(3), let url = required(4) else { return nil }
            guard isSafePath(fields[0]!, path, strings: &strings),
                  fields[4]!.firstIndex(of: 0x40) == nil || !URLUserinfo.hasUserinfo(url) else { return nil }
            var entry = LockEntry(path: path, archive: archive, dataset: dataset, uri: uri, url: url)
            if let raw = fields[5] {
                guard !raw.isEmpty, raw.count <= 18, raw.allSatisfy({ (0x30...0x39).contains($0) }), let size = Int64(String(decoding: raw, as: UTF8.self)) else { return nil }
                entry.size = size
            }
            if let raw = fields[6] {
                guard raw.count == 64, raw.allSatisfy(isHexDigit) else { return nil }
                let hex = String(decoding: raw, as: UTF8.self)
                entry.sha256 = raw.contains(where: { (0x41...0x46).contains($0) }) ? hex.lowercased() : hex
            }
            if fields[7] != nil {
                guard let value = text(7), let present = value, let checksum = Checksum(present),
                      checksum.algorithm.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }),
                      checksum.hex.utf8.allSatisfy(isHexDigit)
                else { return nil }
                entry.checksum = checksum
            }
            guard let modified = text(8), let level = text(9), let suffix = text(10), let type = text(11),
                  let access = text(12), let instrument = text(13), let filters = text(14) else { return nil }
            entry.modified = modified
            entry.level = level
            entry.suffix = suffix
            if let type {
                guard let value = ProductType(rawValue: type) else { return nil }
                entry.type = value
            }
            if let access {
                guard let value = Access(rawValue: access) else { return nil }
                entry.access = value
            }
            entry.instrument = instrument
            entry.filters = filters
            if let raw = fields[15] {
                guard let association = association(raw) else { return nil }
                entry.association = association
            }
            if let raw = fields[16] {
                guard let items = flowList(raw) else { return nil }
                entry.also = items
            }
            if let raw = fields[17] {
                guard let items = flowList(raw), items.allSatisfy({ PathSafety.problem(with: $0) == nil }) else { return nil }
                entry.alsoPaths = items
            }
            return entry
        }

        /// Whether `PathSafety` accepts the entry's `path` (read from `raw`). A plain (unquoted) path
        /// of printable ASCII without a backslash, a leading `/`, an empty, `.` or `..` component or one longer
        /// than `PathSafety.maximumComponentBytes`, whose first component does not start with `.`
        /// or is the one found safe before, is decided on its bytes; any other asks `PathSafety`.
        static func isSafePath(_ raw: Bytes, _ path: String, strings: inout StringReuse) -> Bool {
            var componentStart = raw.startIndex
            var firstComponentEnd: Int?
            var plain = raw.first != 0x2F && raw.first != 0x22
            for index in raw.indices where plain {
                let byte = raw[index]
                guard byte > 0x20, byte < 0x7F, byte != 0x5C else { plain = false; break }
                if byte == 0x2F {
                    plain = isPlainComponent(raw[componentStart..<index])
                    if firstComponentEnd == nil { firstComponentEnd = index }
                    componentStart = index + 1
                }
            }
            if plain { plain = isPlainComponent(raw[componentStart..<raw.endIndex]) }
            if plain {
                let first = raw[raw.startIndex..<(firstComponentEnd ?? raw.endIndex)]
                if first.first != 0x2E { return true }
                if let known = strings.safeFirstComponent, first.elementsEqual(known) { return true }
            }
            guard PathSafety.problem(with: path) == nil else { return false }
            let firstEnd = raw.firstIndex(of: 0x2F) ?? raw.endIndex
            strings.safeFirstComponent = raw[raw.startIndex..<firstEnd]
            return true
        }

        /// A component `PathSafety` accepts anywhere in a path, as far as its bytes tell.
        private static func isPlainComponent(_ component: Bytes) -> Bool {
            guard !component.isEmpty, component.count <= PathSafety.maximumComponentBytes else { return false }
            if component.first == 0x2E && (component.count == 1 || (component.count == 2 && component.last == 0x2E)) { return false }
            return true
        }

        /// A block scalar's value: a plain one of safe ASCII characters, or a double-quoted one
        /// without escapes. Anything else is left to libyaml.
        static func scalar(_ raw: Bytes) -> String? {
            guard let first = raw.first else { return nil }
            if first == 0x22 {
                guard raw.count >= 2, raw.last == 0x22 else { return nil }
                let inner = raw.dropFirst().dropLast()
                guard inner.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) else { return nil }
                return String(decoding: inner, as: UTF8.self)
            }
            guard isPlainStart(first), raw.last != 0x3A, raw.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !isNullWord(raw) else { return nil }
            return String(decoding: raw, as: UTF8.self)
        }

        /// `[a, b]` of plain, flow-safe items.
        static func flowList(_ raw: Bytes) -> [String]? {
            guard raw.count >= 3, raw.first == 0x5B, raw.last == 0x5D else { return nil }
            var items: [String] = []
            for (index, item) in raw.dropFirst().dropLast().split(separator: 0x2C, omittingEmptySubsequences: false).enumerated() {
                guard index == 0 || item.first == 0x20 else { return nil }
                let trimmed = index == 0 ? item : item.dropFirst()
                guard let first = trimmed.first, isPlainStart(first), trimmed.last != 0x3A,
                      trimmed.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !flowIndicators.contains($0) })
                else { return nil }
                let text = String(decoding: trimmed, as: UTF8.self)
                guard !nullWords.contains(text) else { return nil }
                items.append(text)
            }
            return items
        }

        /// `{mode: Raw2Raw, executed: Raw2Raw, certified: true, complete: true, files: 50}` exactly
        /// as the writer writes it: keys in its order, plain values.
        static func association(_ raw: Bytes) -> CalibrationAssociation? {
            guard raw.count >= 2, raw.first == 0x7B, raw.last == 0x7D else { return nil }
            var values: [String: String] = [:]
            var lastKey = -1
            for (index, member) in raw.dropFirst().dropLast().split(separator: 0x2C, omittingEmptySubsequences: false).enumerated() {
                guard index == 0 || member.first == 0x20 else { return nil }
                let trimmed = index == 0 ? member : member.dropFirst()
                guard let colon = trimmed.firstIndex(of: 0x3A), trimmed.index(after: colon) < trimmed.endIndex, trimmed[trimmed.index(after: colon)] == 0x20 else { return nil }
                let key = String(decoding: trimmed[..<colon], as: UTF8.self)
                let value = trimmed[trimmed.index(colon, offsetBy: 2)...]
                guard let position = CalibrationAssociation.keys.firstIndex(of: key), position > lastKey,
                      let first = value.first, isPlainStart(first), value.last != 0x3A,
                      value.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !flowIndicators.contains($0) })
                else { return nil }
                lastKey = position
                values[key] = String(decoding: value, as: UTF8.self)
            }
            func boolean(_ key: String) -> Bool? {
                switch values[key] {
                case "true": return true
                case "false": return false
                default: return nil
                }
            }
            guard let modeName = values["mode"], let mode = CalibrationAssociation.mode(named: modeName),
                  let certified = boolean("certified"), let complete = boolean("complete")
            else { return nil }
            var files: Int?
            if let text = values["files"] {
                guard text.utf8.count <= 9, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let count = Int(text) else { return nil }
                files = count
            }
            if let executed = values["executed"], nullWords.contains(executed) { return nil }
            return CalibrationAssociation(mode: mode, executed: values["executed"], certified: certified, complete: complete, files: files)
        }

        /// Characters a plain scalar may start with here: letters, digits, `_`, `.`, `/`.
        static func isPlainStart(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2E || byte == 0x2F
        }

        static let flowIndicators: Set<UInt8> = Set(",[]{}#:'\"".utf8)

        /// Whether `raw` is one of `nullWords`, compared on its bytes.
        static func isNullWord(_ raw: Bytes) -> Bool {
            raw.count == 4 && nullWordBytes.contains { raw.elementsEqual($0) }
        }

        static let nullWordBytes: [[UInt8]] = nullWords.map { Array($0.utf8) }
        static let nullWords: Set<String> = ["null", "Null", "NULL"]
    }
}
