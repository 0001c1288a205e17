import DatapinSpec
import DatapinSupport
import Foundation

/// Reads `datapin.lock` back into a `Lockfile`, checking everything a hand edit could break and
/// reporting every problem in one pass, each with file:line:column and the quoted line.
public enum LockReader {
    /// Parses and validates lockfile `text`; `file` names it in diagnostics. A lock that does
    /// not end with `LockWriter.closingLine` was cut short and is refused.
    public static func read(text: String, file: String) throws(DiagnosticList) -> Lockfile {
        if let lock = CanonicalLockReader.read(text) { return lock }
        if let cut = Truncation.find(in: text, file: file) {
            throw DiagnosticList([Diagnostic(.error, "\(cut.fileName) ends here without its closing line '\(LockWriter.closingLine)', so it was cut short (an interrupted copy, a bad merge) or written by a datapin from before the closing line; restore it from version control, or run `datapin lock` (it keeps the pins of every complete entry) and commit it", at: cut.location, excerpt: cut.lastLine)])
        }
        let source = SourceText(path: file, text: text)
        var reader = Validator(source: source)
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(text, file: file, limits: .lockfile)
        } catch {
            throw DiagnosticList([source.diagnostic(.error, "invalid YAML: \(error.message)", at: error.location)])
        }
        let lock = reader.lockfile(from: root)
        guard let lock, reader.diagnostics.allSatisfy({ $0.severity != .error }) else {
            throw DiagnosticList(reader.diagnostics)
        }
        return lock
    }

    /// Reads a lock only for the pins `datapin lock` keeps: a lock that was cut short is read
    /// without its last entry (which may be incomplete) and with a warning saying so, so that
    /// locking again always recovers. nil when not even one entry was complete.
    public static func readKeepingPins(text: String, file: String) throws(DiagnosticList) -> (lock: Lockfile?, warnings: [Diagnostic]) {
        guard let cut = Truncation.find(in: text, file: file) else { return (try read(text: text, file: file), []) }
        let lines = Truncation.lines(of: text)
        let filesLine = lines.firstIndex { $0.hasPrefix("files:") }
        guard let filesLine, let lastEntry = lines.lastIndex(where: { $0.hasPrefix("- ") }), lastEntry > filesLine else {
            let warning = Diagnostic(.warning, "\(cut.fileName) was cut short before its first complete entry (it does not end with '\(LockWriter.closingLine)'); locking from scratch", at: cut.location, excerpt: cut.lastLine)
            return (nil, [warning])
        }
        let kept = lines[..<lastEntry].joined(separator: "\n") + "\n" + LockWriter.closingLine + "\n"
        let lock = try read(text: kept, file: file)
        let location = SourceLocation(file: file, line: lastEntry + 1, column: 1)
        let warning = Diagnostic(.warning, "\(cut.fileName) was cut short (it does not end with '\(LockWriter.closingLine)'); its last entry, from this line on, may be incomplete and is locked afresh", at: location, excerpt: lines[lastEntry])
        return (lock, [warning])
    }

    /// Reads the lockfile at `path` (`file` names it in diagnostics); a missing file gives one
    /// diagnostic saying to run `datapin lock`, a binary or non-UTF-8 one the position of its
    /// first bad byte.
    public static func read(contentsOf path: String, file: String? = nil) throws(DiagnosticList) -> Lockfile {
        let file = file ?? path
        let data = try data(of: path, file: file)
        if let lock = canonical(data) { return lock }
        return try read(text: TextFile.decode(data, file: file), file: file)
    }

    /// `readKeepingPins(text:file:)` of the lockfile at `path`.
    public static func readKeepingPins(contentsOf path: String, file: String? = nil) throws(DiagnosticList) -> (lock: Lockfile?, warnings: [Diagnostic]) {
        let file = file ?? path
        let data = try data(of: path, file: file)
        // A lock the fast reader accepts ends with its closing line: nothing was cut short.
        if let lock = canonical(data) { return (lock, []) }
        return try readKeepingPins(text: TextFile.decode(data, file: file), file: file)
    }

    /// The lock as `LockWriter` wrote it, read from the file's bytes without decoding them into
    /// a string first (a 27 MB copy for 100,000 entries); nil when the full reader must decide.
    private static func canonical(_ data: Data) -> Lockfile? {
        data.withUnsafeBytes { raw in CanonicalLockReader.read(bytes: raw.bindMemory(to: UInt8.self)) }
    }

    private static func data(of path: String, file: String) throws(DiagnosticList) -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DiagnosticList([Diagnostic(.error, "no datapin.lock here; run `datapin lock`", notes: ["looked for \(path)"])])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DiagnosticList([Diagnostic(.error, "\(file) could not be read (is it a directory, or not readable by you?)")])
        }
        return data
    }

    /// Where a lock without its closing line ends.
    private struct Truncation {
        /// The lock's file name, for the message.
        let fileName: String
        /// The end of the last line that is not blank.
        let location: SourceLocation
        /// That line, for quoting under the diagnostic.
        let lastLine: String

        /// nil when the last line that is not blank is `LockWriter.closingLine`, or when the
        /// text is blank (an empty lock has a message of its own).
        static func find(in text: String, file: String) -> Truncation? {
            let bytes = text.utf8
            let blanks: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
            var end = bytes.endIndex
            while end > bytes.startIndex, blanks.contains(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
            guard end > bytes.startIndex else { return nil }
            let start = bytes[..<end].lastIndex(of: 0x0A).map { bytes.index(after: $0) } ?? bytes.startIndex
            let line = Substring(text.utf8[start..<end])
            guard line != LockWriter.closingLine else { return nil }
            let lineNumber = bytes[..<start].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let name = file.split(separator: "/").last.map(String.init) ?? file
            return Truncation(fileName: name, location: SourceLocation(file: file, line: lineNumber, column: line.unicodeScalars.count + 1), lastLine: String(line))
        }

        /// The lines of `text`, split at every line feed (a `\r\n` too, which Swift counts as one
        /// character), each without its line break.
        static func lines(of text: String) -> [String] {
            text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                var line = String(line)
                if line.unicodeScalars.last == "\r" { line.unicodeScalars.removeLast() }
                return line
            }
        }
    }
}

/// One pass over the parsed lockfile, collecting diagnostics as it goes.
private struct Validator {
    let source: SourceText
    var diagnostics: [Diagnostic] = []

    init(source: SourceText) {
        self.source = source
    }

    mutating func error(_ message: String, at location: SourceLocation, notes: [String] = []) {
        diagnostics.append(source.diagnostic(.error, message, at: location, notes: notes))
    }

    /// The lockfile, or nil when the document is not even shaped like one.
    mutating func lockfile(from root: YAMLNode?) -> Lockfile? {
        let start = SourceLocation(file: source.path, line: 1, column: 1)
        guard let root else {
            error("the lockfile is empty; run `datapin lock`", at: start)
            return nil
        }
        guard let pairs = root.pairs else {
            error("a lockfile is a mapping with version, spec and files, found \(root.kindDescription)", at: root.location)
            return nil
        }
        let fields = mapping(pairs, allowed: LockKey.topLevel, context: "at the top level")
        let version = readVersion(fields["version"], in: root)
        let spec = readSpec(fields["spec"], in: root)
        let files = readFiles(fields["files"], in: root)
        guard let version, let spec, let files else { return nil }
        return Lockfile(version: version, specDigest: spec, files: files)
    }

    // MARK: - Top level

    private mutating func readVersion(_ node: YAMLNode?, in root: YAMLNode) -> Int? {
        guard let node else {
            error("the lockfile has no 'version'", at: root.location)
            return nil
        }
        guard let text = plainScalar(node), let version = Int(text), version >= 1 else {
            error("'version' must be \(Lockfile.currentVersion), found \(describe(node))", at: node.location)
            return nil
        }
        guard version <= Lockfile.currentVersion else {
            error("this lockfile is version \(version), made by a newer datapin; this one reads version \(Lockfile.currentVersion)", at: node.location)
            return nil
        }
        return version
    }

    private mutating func readSpec(_ node: YAMLNode?, in root: YAMLNode) -> String? {
        guard let node else {
            error("the lockfile has no 'spec' digest", at: root.location)
            return nil
        }
        guard let text = node.scalar, text.hasPrefix("sha256:"), Hex.isHex(String(text.dropFirst(7)), length: 64) else {
            error("'spec' must be sha256: followed by 64 hexadecimal digits, found \(describe(node)); re-run `datapin lock`", at: node.location)
            return nil
        }
        return text.lowercased()
    }

    private mutating func readFiles(_ node: YAMLNode?, in root: YAMLNode) -> [LockEntry]? {
        guard let node else {
            error("the lockfile has no 'files' list", at: root.location)
            return nil
        }
        if node.isNull { return [] }
        guard let items = node.items else {
            error("'files' must be a list, found \(node.kindDescription)", at: node.location)
            return nil
        }
        var entries: [LockEntry] = []
        var firstLine: [[UInt8]: Int] = [:]
        var previous: [UInt8]?
        var reportedOrder = false
        for item in items {
            guard let entry = readEntry(item) else { continue }
            let key = Array(entry.path.utf8)
            let pathLocation = item["path"]?.location ?? item.location
            if let line = firstLine[key] {
                error("duplicate path '\(entry.path)'", at: pathLocation, notes: ["it is first listed on line \(line)"])
            } else {
                firstLine[key] = pathLocation.line
                if let previous, !reportedOrder, key.lexicographicallyPrecedes(previous) {
                    error("files are not sorted by path; re-run `datapin lock`", at: pathLocation)
                    reportedOrder = true
                }
                previous = key
            }
            entries.append(entry)
        }
        return entries
    }

    // MARK: - Entries

    private mutating func readEntry(_ item: YAMLNode) -> LockEntry? {
        guard let pairs = item.pairs else {
            error("each file must be a mapping with path, archive, dataset, uri and url, found \(item.kindDescription)", at: item.location)
            return nil
        }
        let fields = mapping(pairs, allowed: LockKey.entryKeys, context: "in a file entry")
        let before = diagnostics.count
        var required: [String: String] = [:]
        for key in LockKey.requiredEntryKeys {
            guard let node = fields[key], !node.isNull else {
                error("this file entry has no '\(key)'", at: item.location)
                continue
            }
            if let text = text(node, key: key) { required[key] = text }
        }
        if let path = required["path"], let node = fields["path"] { checkRelativePath(path, key: "path", at: node.location) }
        if let url = required["url"], let node = fields["url"], URLUserinfo.hasUserinfo(url) {
            let quoted = source.line(node.location.line)?.replacingOccurrences(of: url, with: URLUserinfo.redacted(url))
            diagnostics.append(Diagnostic(.error, "'url' carries credentials (\(URLUserinfo.redacted(url))), which datapin never keeps in a lock; \(URLUserinfo.advice), and re-run `datapin lock`", at: node.location, excerpt: quoted))
        }
        var entry = LockEntry(path: required["path"] ?? "", archive: required["archive"] ?? "", dataset: required["dataset"] ?? "", uri: required["uri"] ?? "", url: required["url"] ?? "")
        entry.size = optional(fields["size"]) { $0.readSize($1) }
        entry.sha256 = optional(fields["sha256"]) { $0.readSHA256($1) }
        entry.checksum = optional(fields["checksum"]) { $0.readChecksum($1) }
        entry.modified = optional(fields["modified"]) { $0.text($1, key: "modified") }
        entry.level = optional(fields["level"]) { $0.text($1, key: "level", allowEmpty: true) }
        entry.suffix = optional(fields["suffix"]) { $0.text($1, key: "suffix", allowEmpty: true) }
        entry.type = optional(fields["type"]) { $0.readEnumeration($1, key: "type", as: ProductType.self) }
        entry.access = optional(fields["access"]) { $0.readEnumeration($1, key: "access", as: Access.self) } ?? .public
        entry.instrument = optional(fields["instrument"]) { $0.text($1, key: "instrument", allowEmpty: true) }
        entry.filters = optional(fields["filters"]) { $0.text($1, key: "filters", allowEmpty: true) }
        entry.association = optional(fields["association"]) { $0.readAssociation($1) }
        entry.also = optional(fields["also"]) { $0.list($1, key: "also") } ?? []
        entry.alsoPaths = optional(fields["also_paths"]) { validator, node in
            let paths = validator.list(node, key: "also_paths")
            for (path, item) in zip(paths ?? [], node.items ?? []) { validator.checkRelativePath(path, key: "also_paths", at: item.location) }
            return paths
        } ?? []
        return diagnostics.count == before ? entry : nil
    }

    /// Reads an optional key: absent or null means nil.
    private mutating func optional<T>(_ node: YAMLNode?, _ read: (inout Validator, YAMLNode) -> T?) -> T? {
        guard let node, !node.isNull else { return nil }
        return read(&self, node)
    }

    private mutating func readSize(_ node: YAMLNode) -> Int64? {
        guard let text = plainScalar(node), let size = Int64(text), size >= 0 else {
            error("'size' must be a whole number of bytes, found \(describe(node))", at: node.location)
            return nil
        }
        return size
    }

    private mutating func readSHA256(_ node: YAMLNode) -> String? {
        guard let text = node.scalar, Hex.isHex(text, length: 64) else {
            error("'sha256' must be 64 hexadecimal digits, found \(describe(node))", at: node.location)
            return nil
        }
        return text.lowercased()
    }

    private mutating func readChecksum(_ node: YAMLNode) -> Checksum? {
        guard let text = node.scalar, let checksum = Checksum(text),
              checksum.algorithm.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }),
              Hex.isHex(checksum.hex, length: checksum.hex.utf8.count)
        else {
            error("'checksum' must be algorithm:hex (such as md5:0cc175b9…), found \(describe(node))", at: node.location)
            return nil
        }
        return checksum
    }

    /// `{mode: Raw2Raw, executed: Raw2Raw, certified: true, complete: true, files: 50}`.
    private mutating func readAssociation(_ node: YAMLNode) -> CalibrationAssociation? {
        guard let pairs = node.pairs else {
            error("'association' must be a mapping with mode, certified and complete, found \(node.kindDescription)", at: node.location)
            return nil
        }
        let fields = mapping(pairs, allowed: CalibrationAssociation.keys, context: "in an association")
        let before = diagnostics.count
        for key in CalibrationAssociation.requiredKeys where fields[key].map(\.isNull) ?? true {
            error("this association has no '\(key)'", at: node.location)
        }
        var mode: CalibrationMode?
        if let node = fields["mode"], !node.isNull, let text = text(node, key: "mode") {
            mode = CalibrationAssociation.mode(named: text)
            if mode == nil {
                let names = CalibrationAssociation.modeNames.map(\.1)
                var message = "unknown association mode '\(text)'; expected one of \(names.joined(separator: ", "))"
                if let near = Suggestion.nearest(to: text, in: names) { message = "unknown association mode '\(text)'; did you mean '\(near)'?" }
                error(message, at: node.location)
            }
        }
        let executed = optional(fields["executed"]) { $0.text($1, key: "executed") }
        let certified = optional(fields["certified"]) { $0.readBoolean($1, key: "certified") }
        let complete = optional(fields["complete"]) { $0.readBoolean($1, key: "complete") }
        let files = optional(fields["files"]) { validator, node -> Int? in
            guard let text = validator.plainScalar(node), let count = Int(text), count >= 0 else {
                validator.error("'files' must be a whole number of files, found \(validator.describe(node))", at: node.location)
                return nil
            }
            return count
        }
        guard diagnostics.count == before, let mode, let certified, let complete else { return nil }
        return CalibrationAssociation(mode: mode, executed: executed, certified: certified, complete: complete, files: files)
    }

    /// An unquoted `true` or `false`.
    private mutating func readBoolean(_ node: YAMLNode, key: String) -> Bool? {
        switch plainScalar(node) {
        case "true": return true
        case "false": return false
        default:
            error("'\(key)' must be true or false, found \(describe(node))", at: node.location)
            return nil
        }
    }

    private mutating func readEnumeration<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, key: String, as _: T.Type) -> T? where T.RawValue == String {
        guard let text = text(node, key: key) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        var message = "unknown \(key) '\(text)'; expected one of \(names.joined(separator: ", "))"
        if let near = Suggestion.nearest(to: text, in: names) { message = "unknown \(key) '\(text)'; did you mean '\(near)'?" }
        error(message, at: node.location)
        return nil
    }

    private mutating func list(_ node: YAMLNode, key: String) -> [String]? {
        guard let items = node.items else {
            error("'\(key)' must be a list, found \(node.kindDescription)", at: node.location)
            return nil
        }
        var values: [String] = []
        for item in items {
            guard let value = text(item, key: key) else { return nil }
            values.append(value)
        }
        return values
    }

    private mutating func checkRelativePath(_ path: String, key: String, at location: SourceLocation) {
        if let problem = PathSafety.problem(with: path) {
            error("'\(key)' must be a relative path that stays inside the destination, found '\(PathSafety.escaped(path))': \(problem); re-run `datapin lock`", at: location)
        }
    }

    // MARK: - Scalars and mappings

    /// A scalar's text (non-empty unless `allowEmpty`), or an error saying what the key needs.
    private mutating func text(_ node: YAMLNode, key: String, allowEmpty: Bool = false) -> String? {
        guard let text = node.scalar, !node.isNull else {
            error("'\(key)' must be text, found \(node.kindDescription)", at: node.location)
            return nil
        }
        guard allowEmpty || !text.isEmpty else {
            error("'\(key)' must not be empty", at: node.location)
            return nil
        }
        return text
    }

    /// The text of an unquoted scalar (numbers must not be quoted), or nil.
    private func plainScalar(_ node: YAMLNode) -> String? {
        guard case .scalar(let text, let plain) = node.value, plain else { return nil }
        return text
    }

    /// A node in a message: its text for a scalar (shortened), its kind otherwise.
    private func describe(_ node: YAMLNode) -> String {
        guard let text = node.scalar, !node.isNull else { return node.kindDescription }
        let shown = text.count > 40 ? text.prefix(40) + "…" : Substring(text)
        if case .scalar(_, plain: false) = node.value { return "quoted '\(shown)'" }
        return "'\(shown)'"
    }

    /// The values of a mapping by key, reporting unknown, duplicate and non-scalar keys.
    private mutating func mapping(_ pairs: [YAMLPair], allowed: [String], context: String) -> [String: YAMLNode] {
        var fields: [String: YAMLNode] = [:]
        for pair in pairs {
            guard let key = pair.key.scalar else {
                error("keys must be words, found \(pair.key.kindDescription)", at: pair.key.location)
                continue
            }
            guard allowed.contains(key) else {
                var message = "unknown key '\(key)' \(context)"
                if let near = Suggestion.nearest(to: key, in: allowed) { message += "; did you mean '\(near)'?" }
                error(message, at: pair.key.location)
                continue
            }
            guard fields[key] == nil else {
                error("duplicate key '\(key)' \(context)", at: pair.key.location)
                continue
            }
            fields[key] = pair.value
        }
        return fields
    }
}
