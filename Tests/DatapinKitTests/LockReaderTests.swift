import DatapinKit
@testable import DatapinLock
@testable import DatapinSupport
import Foundation
import Testing
import TestSupport

/// A lockfile damaged by hand: where the damage must be reported and a distinctive part of the message.
struct LockErrorCase: Sendable, CustomTestStringConvertible {
    var name: String
    var lines: [String]
    var line: Int
    var column: Int
    var message: String

    /// `base` with the given 1-based lines replaced (an empty string keeps the line, blank).
    init(_ name: String, _ edits: [Int: String], at position: (Int, Int), _ message: String) {
        var lines = LockReaderTests.base
        for (line, text) in edits { lines[line - 1] = text }
        self.init(name, lines: lines, at: position, message)
    }

    init(_ name: String, lines: [String], at position: (Int, Int), _ message: String) {
        self.name = name
        self.lines = lines
        self.line = position.0
        self.column = position.1
        self.message = message
    }

    var testDescription: String { name }
}

@Suite struct LockReaderTests {
    static let file = "datapin.lock"
    static let sha = String(repeating: "9f2c", count: 16)

    static let base = [
        LockWriter.header,
        "version: 1",
        "spec: \(LockSamples.specDigest)",
        "files:",
        "- path: ds1/a.fits",
        "  archive: lab",
        "  dataset: ds1",
        "  uri: lab:ds1/a.fits",
        "  url: https://example.org/ds1/a.fits",
        "  size: 2880",
        "  sha256: \(sha)",
        "  access: public",
        "- path: ds1/b.fits",
        "  archive: lab",
        "  dataset: ds1",
        "  uri: lab:ds1/b.fits",
        "  url: https://example.org/ds1/b.fits",
        "  access: public",
    ]

    /// The lockfile of `lines`, ending as the writer ends it.
    static func text(_ lines: [String]) -> String {
        (lines + [LockWriter.closingLine]).joined(separator: "\n") + "\n"
    }

    static func diagnostics(_ text: String) -> [Diagnostic] {
        do {
            _ = try LockReader.read(text: text, file: file)
            return []
        } catch {
            return error.diagnostics
        }
    }

    static let topLevelCases: [LockErrorCase] = [
        LockErrorCase("newer version", [2: "version: 2"], at: (2, 10), "this lockfile is version 2, made by a newer datapin; this one reads version 1"),
        LockErrorCase("quoted version", [2: "version: \"1\""], at: (2, 10), "'version' must be 1, found quoted '1'"),
        LockErrorCase("version is a word", [2: "version: one"], at: (2, 10), "'version' must be 1, found 'one'"),
        LockErrorCase("version zero", [2: "version: 0"], at: (2, 10), "'version' must be 1, found '0'"),
        LockErrorCase("no version", [2: ""], at: (3, 1), "the lockfile has no 'version'"),
        LockErrorCase("misspelt top-level key", [2: "verison: 1"], at: (2, 1), "unknown key 'verison' at the top level; did you mean 'version'?"),
        LockErrorCase("short spec digest", [3: "spec: sha256:5b1c"], at: (3, 7), "'spec' must be sha256: followed by 64 hexadecimal digits, found 'sha256:5b1c'; re-run `datapin lock`"),
        LockErrorCase("spec digest of another kind", [3: "spec: md5:0cc175b9c0f1b6a831c399e269772661"], at: (3, 7), "'spec' must be sha256: followed by 64 hexadecimal digits"),
        LockErrorCase("no spec", [3: ""], at: (2, 1), "the lockfile has no 'spec' digest"),
        LockErrorCase("duplicate top-level key", [3: "version: 1"], at: (3, 1), "duplicate key 'version' at the top level"),
        LockErrorCase("files is a mapping", lines: Array(base[..<3]) + ["files: {path: a}"], at: (4, 8), "'files' must be a list, found a mapping"),
        LockErrorCase("no files", lines: Array(base[..<3]), at: (2, 1), "the lockfile has no 'files' list"),
        LockErrorCase("a list at the top", lines: ["- version: 1"], at: (1, 1), "a lockfile is a mapping with version, spec and files, found a list"),
        LockErrorCase("broken flow list", [7: "  dataset: [ds1"], at: (8, 6), "invalid YAML: did not find expected ',' or ']'"),
        LockErrorCase("broken indentation", [7: "    dataset: ds1"], at: (7, 12), "invalid YAML: mapping values are not allowed"),
    ]

    static let entryCases: [LockErrorCase] = [
        LockErrorCase("misspelt key", [10: "  sze: 2880"], at: (10, 3), "unknown key 'sze' in a file entry; did you mean 'size'?"),
        LockErrorCase("duplicate key", [12: "  archive: lab"], at: (12, 3), "duplicate key 'archive' in a file entry"),
        LockErrorCase("missing url", [9: "  level: 2b"], at: (5, 3), "this file entry has no 'url'"),
        LockErrorCase("null uri", [16: "  uri:"], at: (13, 3), "this file entry has no 'uri'"),
        LockErrorCase("empty url", [9: "  url: \"\""], at: (9, 8), "'url' must not be empty"),
        LockErrorCase("url is a list", [9: "  url: [https://example.org/a]"], at: (9, 8), "'url' must be text, found a list"),
        LockErrorCase("negative size", [10: "  size: -1"], at: (10, 9), "'size' must be a whole number of bytes, found '-1'"),
        LockErrorCase("size with a unit", [10: "  size: 2.8 kB"], at: (10, 9), "'size' must be a whole number of bytes, found '2.8 kB'"),
        LockErrorCase("quoted size", [10: "  size: \"2880\""], at: (10, 9), "'size' must be a whole number of bytes, found quoted '2880'"),
        LockErrorCase("short sha256", [11: "  sha256: 9f2c"], at: (11, 11), "'sha256' must be 64 hexadecimal digits, found '9f2c'"),
        LockErrorCase("sha256 with a non-hex digit", [11: "  sha256: " + String(repeating: "9f2c", count: 15) + "9f2g"], at: (11, 11), "'sha256' must be 64 hexadecimal digits"),
        LockErrorCase("checksum without algorithm", [12: "  checksum: 0cc175b9c0f1b6a831c399e269772661"], at: (12, 13), "'checksum' must be algorithm:hex (such as md5:0cc175b9…), found '0cc175b9c0f1b6a831c399e269772661'"),
        LockErrorCase("checksum not hex", [12: "  checksum: md5:xyz"], at: (12, 13), "'checksum' must be algorithm:hex"),
        LockErrorCase("type misspelt", [12: "  type: sciense"], at: (12, 9), "unknown type 'sciense'; did you mean 'science'?"),
        LockErrorCase("access unknown", [12: "  access: privat"], at: (12, 11), "unknown access 'privat'; expected one of public, exclusive"),
        LockErrorCase("access capitalised", [18: "  access: Public"], at: (18, 11), "unknown access 'Public'; did you mean 'public'?"),
        LockErrorCase("absolute path", [5: "- path: /etc/passwd"], at: (5, 9), "'path' must be a relative path that stays inside the destination, found '/etc/passwd': the path is absolute; re-run `datapin lock`"),
        LockErrorCase("path climbing out", [13: "- path: ds1/../../b.fits"], at: (13, 9), "found 'ds1/../../b.fits'"),
        LockErrorCase("path with an empty part", [13: "- path: ds1//b.fits"], at: (13, 9), "found 'ds1//b.fits'"),
        LockErrorCase("path with a backslash", [13: "- path: \"ds1\\\\b.fits\""], at: (13, 9), "'path' must be a relative path"),
        LockErrorCase("path in datapin's working folder", [13: "- path: .datapin-partial/evil.bin"], at: (13, 9), "found '.datapin-partial/evil.bin': the path starts with '.datapin-partial', which datapin reserves for its working files"),
        LockErrorCase("also_paths in datapin's state folder", [12: "  also_paths: [.datapin/state.json]"], at: (12, 16), "found '.datapin/state.json': the path starts with '.datapin'"),
        LockErrorCase("an anchor", [6: "  archive: &lab lab", 14: "  archive: *lab"], at: (6, 12), "invalid YAML: anchors (&name) and aliases (*name) are not allowed in this file"),
        LockErrorCase("also is a scalar", [12: "  also: ds2"], at: (12, 9), "'also' must be a list, found a scalar"),
        LockErrorCase("also holds a mapping", [12: "  also: [{a: b}]"], at: (12, 10), "'also' must be text, found a mapping"),
        LockErrorCase("also_paths climbing out", [12: "  also_paths: [ds2/a.fits, ../a.fits]"], at: (12, 28), "'also_paths' must be a relative path that stays inside the destination, found '../a.fits': the path has a '..' component"),
        LockErrorCase("also_paths climbing out, block list", lines: Array(base[..<11]) + ["  also_paths:", "  - ds2/a.fits", "  - /abs/a.fits"] + Array(base[12...]), at: (14, 5), "found '/abs/a.fits': the path is absolute"),
        LockErrorCase("entry is a scalar", lines: Array(base[..<12]) + ["- ds1/b.fits"], at: (13, 3), "each file must be a mapping with path, archive, dataset, uri and url, found a scalar"),
        LockErrorCase("duplicate path", [13: "- path: ds1/a.fits"], at: (13, 9), "duplicate path 'ds1/a.fits'"),
        LockErrorCase("unsorted", [13: "- path: ds0/b.fits"], at: (13, 9), "files are not sorted by path; re-run `datapin lock`"),
        LockErrorCase("association key misspelt", [12: "  association: {mode: Raw2Raw, certifed: true, complete: true}"], at: (12, 32), "unknown key 'certifed' in an association; did you mean 'certified'?"),
        LockErrorCase("association mode in another case", [12: "  association: {mode: raw2raw, certified: true, complete: true}"], at: (12, 23), "unknown association mode 'raw2raw'; did you mean 'Raw2Raw'?"),
        LockErrorCase("association certified quoted", [12: "  association: {mode: Raw2Raw, certified: \"yes\", complete: true}"], at: (12, 43), "'certified' must be true or false, found quoted 'yes'"),
        LockErrorCase("association without complete", [12: "  association: {mode: Raw2Raw, certified: true}"], at: (12, 16), "this association has no 'complete'"),
        LockErrorCase("association is a scalar", [12: "  association: certified"], at: (12, 16), "'association' must be a mapping with mode, certified and complete, found a scalar"),
        LockErrorCase("association files negative", [12: "  association: {mode: Raw2Raw, certified: true, complete: true, files: -3}"], at: (12, 72), "'files' must be a whole number of files, found '-3'"),
    ]

    @Test(arguments: topLevelCases + entryCases)
    func reportsHandEditDamageAtItsPlace(_ row: LockErrorCase) throws {
        let diagnostics = Self.diagnostics(Self.text(row.lines))
        let rendered = diagnostics.map { $0.rendered() }.joined(separator: "\n")
        let found = diagnostics.first { $0.location?.line == row.line && $0.location?.column == row.column && $0.message.contains(row.message) }
        let diagnostic = try #require(found, "expected an error at \(row.line):\(row.column) containing \"\(row.message)\", got:\n\(rendered)")
        #expect(diagnostic.severity == .error)
        let output = diagnostic.rendered().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(output.first == "datapin.lock:\(row.line):\(row.column): error: \(diagnostic.message)")
        #expect(output.count >= 3)
        #expect(output.dropFirst().first == "    " + row.lines[row.line - 1])
        #expect(output.dropFirst(2).first == "    " + String(repeating: " ", count: row.column - 1) + "^")
    }

    /// A hand-edited url with `user:password@` is refused at its place, and neither the message
    /// nor the quoted line shows the password; the fast reader leaves it to this one.
    @Test func aURLWithCredentialsIsRefusedWithoutShowingThem() throws {
        var lines = Self.base
        lines[8] = "  url: https://jane:s3cretpass@example.org/ds1/a.fits"
        let text = Self.text(lines)
        #expect(CanonicalLockReader.read(text) == nil)
        let diagnostic = try #require(Self.diagnostics(text).first)
        #expect(diagnostic.location?.line == 9 && diagnostic.location?.column == 8)
        #expect(diagnostic.message.contains("'url' carries credentials (https://***@example.org/ds1/a.fits)"), "\(diagnostic.message)")
        #expect(diagnostic.rendered().contains("    url: https://***@example.org/ds1/a.fits"), "\(diagnostic.rendered())")
        #expect(!diagnostic.rendered().contains("s3cretpass"))
    }

    @Test func anEmptyLockfileSaysToLock() {
        for text in ["", "\(LockWriter.header)\n\(LockWriter.closingLine)\n"] {
            let diagnostics = Self.diagnostics(text)
            #expect(diagnostics.map { $0.rendered() }.first?.hasPrefix("datapin.lock:1:1: error: the lockfile is empty; run `datapin lock`") == true)
            #expect(diagnostics.count == 1)
        }
    }

    @Test func rendersADuplicatePathWithANoteOnTheFirst() {
        var lines = Self.base
        lines[12] = "- path: ds1/a.fits"
        let diagnostics = Self.diagnostics(Self.text(lines))
        #expect(diagnostics.map { $0.rendered() } == [
            """
            datapin.lock:13:9: error: duplicate path 'ds1/a.fits'
                - path: ds1/a.fits
                        ^
                note: it is first listed on line 5
            """,
        ])
    }

    @Test func reportsEveryDamageInOneRead() {
        var lines = Self.base
        lines[1] = "version: 2"
        lines[9] = "  size: big"
        lines[11] = "  access: privat"
        lines[15] = "  urn: lab:ds1/b.fits"
        let diagnostics = Self.diagnostics(Self.text(lines))
        #expect(diagnostics.allSatisfy { $0.severity == .error })
        #expect(diagnostics.compactMap { $0.location.map { "\($0.line):\($0.column)" } }.sorted() == ["10:9", "12:11", "13:3", "16:3", "2:10"])
        #expect(diagnostics.contains { $0.message == "this file entry has no 'uri'" })
        #expect(diagnostics.contains { $0.message == "unknown key 'urn' in a file entry; did you mean 'uri'?" })
    }

    @Test func anUnsortedListIsReportedOnce() {
        let lines = Self.base + ["- path: ds0/c.fits", "  archive: lab", "  dataset: ds0", "  uri: lab:ds0/c.fits", "  url: https://example.org/ds0/c.fits", "- path: ds0/a.fits", "  archive: lab", "  dataset: ds0", "  uri: lab:ds0/a.fits", "  url: https://example.org/ds0/a.fits"]
        let diagnostics = Self.diagnostics(Self.text(lines))
        #expect(diagnostics.map(\.message) == ["files are not sorted by path; re-run `datapin lock`"])
        #expect(diagnostics.first?.location?.line == 19)
    }

    // MARK: Valid lockfiles

    @Test func readsTheBaseLockfile() throws {
        let lock = try LockReader.read(text: Self.text(Self.base), file: Self.file)
        #expect(lock.version == 1)
        #expect(lock.specDigest == LockSamples.specDigest)
        #expect(lock.files == [
            LockEntry(path: "ds1/a.fits", archive: "lab", dataset: "ds1", uri: "lab:ds1/a.fits", url: "https://example.org/ds1/a.fits", size: 2880, sha256: Self.sha),
            LockEntry(path: "ds1/b.fits", archive: "lab", dataset: "ds1", uri: "lab:ds1/b.fits", url: "https://example.org/ds1/b.fits"),
        ])
    }

    @Test func readsBackWhatTheWriterWrites() throws {
        let lock = Lockfile(specDigest: LockSamples.specDigest, files: [
            LockSamples.fullEntry,
            LockSamples.minimal("ds2/flat.fits", dataset: "ds2", size: 0),
            LockEntry(path: "ds3/odd name: #1.fits", archive: "lab", dataset: "007", uri: "lab:ds3/odd name: #1.fits", url: "https://example.org/a?b=c&d", level: "", suffix: "yes", type: .info, access: .exclusive, instrument: "null", filters: "1e3"),
        ])
        let text = LockWriter.render(lock)
        #expect(try LockReader.read(text: text, file: Self.file) == lock)
        #expect(try LockReader.read(text: text.replacingOccurrences(of: "\n", with: "\r\n"), file: Self.file) == lock)
    }

    @Test(arguments: ["files: []", "files:"])
    func readsALockWithoutFiles(files: String) throws {
        let lock = try LockReader.read(text: Self.text(Array(Self.base[..<3]) + [files]), file: Self.file)
        #expect(lock.files.isEmpty)
        #expect(lock.specDigest == LockSamples.specDigest)
    }

    @Test func normalisesHexToLowercaseAndDefaultsAccessToPublic() throws {
        var lines = Self.base
        lines[2] = "spec: " + LockSamples.specDigest.uppercased().replacingOccurrences(of: "SHA256:", with: "sha256:")
        lines[10] = "  sha256: " + Self.sha.uppercased()
        lines[17] = "  checksum: md5:0CC175B9C0F1B6A831C399E269772661"
        let lock = try LockReader.read(text: Self.text(lines), file: Self.file)
        #expect(lock.specDigest == LockSamples.specDigest)
        #expect(lock.files[0].sha256 == Self.sha)
        #expect(lock.files[1].access == .public)
        #expect(lock.files[1].checksum?.algorithm == "md5")
    }

    @Test func aMissingFileSaysToLock() throws {
        let directory = try TestEnvironment.makeScratchDirectory("lock-reader")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("datapin.lock").path
        #expect {
            _ = try LockReader.read(contentsOf: path)
        } throws: { error in
            (error as? DiagnosticList)?.diagnostics.map { $0.rendered() } == ["error: no datapin.lock here; run `datapin lock`\n    note: looked for \(path)"]
        }
        try Self.text(Self.base).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try LockReader.read(contentsOf: path).files.count == 2)
        try Self.text(["version: 1"]).write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try LockReader.read(contentsOf: path)
        } throws: { error in
            (error as? DiagnosticList)?.diagnostics.first?.rendered().hasPrefix("\(path):1:1: error: the lockfile has no 'spec' digest") == true
        }
    }

    // MARK: A lock cut short

    static var written: String {
        LockWriter.render(Lockfile(specDigest: LockSamples.specDigest, files: [
            LockSamples.fullEntry,
            LockEntry(path: "ds1/a.fits", archive: "lab", dataset: "ds1", uri: "lab:ds1/a.fits", url: "https://example.org/ds1/a.fits", size: 2880, sha256: sha),
            LockSamples.minimal("ds2/flat.fits", dataset: "ds2", size: 0),
        ]))
    }

    @Test func aLockCutAnywhereIsRefusedAtItsLastLine() throws {
        let text = Self.written
        let bytes = Array(text.utf8)
        let closingStart = bytes.count - LockWriter.closingLine.utf8.count - 1
        for length in stride(from: 1, to: closingStart, by: 3) {
            let cut = String(decoding: bytes.prefix(length), as: UTF8.self)
            let diagnostics = Self.diagnostics(cut)
            let lines = cut.split(separator: "\n", omittingEmptySubsequences: false)
            let lastLine = try #require(lines.lastIndex { !$0.allSatisfy(\.isWhitespace) }) + 1
            #expect(diagnostics.count == 1, "cut at \(length)")
            #expect(diagnostics.first?.message.contains("ends here without its closing line '# end of datapin.lock', so it was cut short (an interrupted copy, a bad merge) or written by a datapin from before the closing line; restore it from version control, or run `datapin lock`") == true, "cut at \(length)")
            #expect(diagnostics.first?.location?.line == lastLine, "cut at \(length)")
        }
        #expect(try LockReader.read(text: text, file: Self.file).files.count == 3)
    }

    @Test func theCutIsShownAtTheEndOfTheLastLine() {
        let text = Self.written
        let cut = String(text.prefix(text.count * 6 / 10))
        let rendered = Self.diagnostics(cut).first?.rendered() ?? ""
        let lastLine = cut.split(separator: "\n").last.map(String.init) ?? ""
        let line = cut.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(rendered.hasPrefix("datapin.lock:\(line):\(lastLine.count + 1): error: datapin.lock ends here without its closing line"), "\(rendered)")
        #expect(rendered.contains("\n    " + lastLine + "\n"))
    }

    @Test func lockReadsALockCutShortWithoutItsLastEntry() throws {
        let text = Self.written
        let full = try LockReader.read(text: text, file: Self.file)
        let unchanged = try LockReader.readKeepingPins(text: text, file: Self.file)
        #expect(unchanged.lock == full)
        #expect(unchanged.warnings.isEmpty)

        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let lastEntry = try #require(lines.lastIndex { $0.hasPrefix("- path: ") })
        for cutLine in lastEntry..<(lines.count - 2) {
            for keep in [lines[cutLine].count, lines[cutLine].count / 2] {
                let cut = lines[..<cutLine].joined(separator: "\n") + "\n" + lines[cutLine].prefix(keep)
                let (lock, warnings) = try LockReader.readKeepingPins(text: cut, file: Self.file)
                #expect(lock?.files == Array(full.files.dropLast()), "cut in line \(cutLine + 1)")
                #expect(warnings.count == 1)
                #expect(warnings.first?.severity == .warning)
                #expect(warnings.first?.location?.line == lastEntry + 1)
                #expect(warnings.first?.message.contains("was cut short") == true)
            }
        }
        let header = try LockReader.readKeepingPins(text: String(text.prefix(120)), file: Self.file)
        #expect(header.lock == nil)
        #expect(header.warnings.first?.message.contains("cut short before its first complete entry") == true)
    }

    @Test func lockStillRefusesOtherDamageInALockCutShort() {
        var lines = Self.base
        lines[9] = "  size: big"
        let cut = lines.joined(separator: "\n") + "\n"
        #expect {
            _ = try LockReader.readKeepingPins(text: cut, file: Self.file)
        } throws: { error in
            (error as? DiagnosticList)?.diagnostics.map(\.message) == ["'size' must be a whole number of bytes, found 'big'"]
        }
    }

    @Test func aBinaryLockfileIsRefusedAtItsFirstBadByte() throws {
        let directory = try TestEnvironment.makeScratchDirectory("lock-reader")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("datapin.lock").path
        var bytes = Array(Self.text(Self.base).utf8)
        bytes.insert(0xC3, at: 60)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try LockReader.read(contentsOf: path, file: "datapin.lock")
        } throws: { error in
            (error as? DiagnosticList)?.diagnostics.map { $0.rendered() } == ["datapin.lock:2:9: error: byte 0xC3 here is not UTF-8, so datapin.lock is a binary file or in another encoding (such as Latin-1); datapin.lock must be UTF-8 text"]
        }
    }
}
