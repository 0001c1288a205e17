import DatapinKit
@testable import DatapinLock
@testable import DatapinSupport
import Foundation
import Testing

/// The fast lockfile reader gives exactly what the libyaml reader gives for what `LockWriter`
/// writes, and gives up (nil) on anything else, so the libyaml reader reports it.
@Suite struct CanonicalLockReaderTests {
    static let tricky: [String] = [
        "3", "2b", "null", "NULL", "~", "yes", "on", "1e5", "0x1F", "-1", ".inf", "1:20", "2024-01-02",
        "a: b", "a #b", "a#b", "trailing:", "[x]", "{x}", "*ref", "&anchor", "!tag", "|", ">", "%x", "@x", "`x`",
        "'single'", "\"double\"", "back\\slash", " lead", "trail ", "tab\there", "line\nbreak", "é accents",
        "CLEAR;GR700XD", "F150W/CLEAR", "", "100%", "a,b", "?q=1&r=2",
    ]

    static func entry(_ index: Int, value: String) -> LockEntry {
        LockEntry(path: String(format: "ds/%03d_%@.fits", index, value.isEmpty ? "empty" : "v"), archive: "lab", dataset: "ds",
                  uri: "index:lab/ds/\(index)", url: "https://lab.example.org/ds/\(index)?a=1&b=\(index)",
                  size: Int64(index * 7), sha256: index % 2 == 0 ? String(repeating: "ab", count: 32) : nil,
                  checksum: index % 3 == 0 ? Checksum(algorithm: "md5", hex: String(repeating: "0f", count: 16)) : nil,
                  modified: index % 4 == 1 ? "2021-01-02T00:59:12.533" : index % 4 == 3 && !value.isEmpty ? value : nil,
                  level: value, suffix: index % 4 == 0 ? nil : "_cal", type: index % 5 == 0 ? .association : .science,
                  access: index % 2 == 0 ? .public : .exclusive, instrument: value.isEmpty ? nil : value, filters: value,
                  also: index % 2 == 0 ? ["other", "third-ds"] : [], alsoPaths: index % 6 == 0 ? ["other/x_\(index).fits"] : [],
                  association: index % 3 == 1 ? CalibrationAssociation(mode: index % 2 == 0 ? .raw2raw : .raw2master, executed: value.isEmpty ? nil : value,
                                                                       certified: index % 4 == 1, complete: index % 5 != 1, files: index % 2 == 0 ? nil : index) : nil)
    }

    static var lock: Lockfile {
        Lockfile(specDigest: LockSamples.specDigest, files: tricky.enumerated().map { entry($0.offset, value: $0.element) })
    }

    @Test func agreesWithTheLibYAMLReaderOnEverythingTheWriterWrites() throws {
        let text = LockWriter.render(Self.lock)
        let full = try LockReader.read(text: text, file: "datapin.lock")
        #expect(full.files.count == Self.tricky.count)
        if let fast = CanonicalLockReader.read(text) { #expect(fast == full) }
        #expect(full == Self.lock)
    }

    @Test func printableASCIIValuesTakeTheFastPathPlainOrQuoted() throws {
        let values = ["3", "2b", "null", "yes", "1e5", "a: b", "a #b", "trailing:", "[x]", "*ref", "CLEAR;GR700XD", "F150W/CLEAR", "100%", "a,b", "?q=1&r=2", "", "'single'", " lead"]
        // An association's executed mode takes the fast path only when plain (ESO's are words).
        let lock = Lockfile(specDigest: LockSamples.specDigest, files: values.enumerated().map { index, value in
            var entry = Self.entry(index, value: value)
            if let executed = entry.association?.executed, !YAMLScalar.isSafePlain(executed, inFlow: true) { entry.association?.executed = "Raw2Raw" }
            return entry
        })
        let text = LockWriter.render(lock)
        let fast = try #require(CanonicalLockReader.read(text))
        #expect(fast == lock)
        #expect(try LockReader.read(text: text, file: "datapin.lock") == lock)
    }

    @Test func takesTheFastPathForTheQuickstartLock() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/quickstart/datapin.lock").standardized
        let text = try String(contentsOf: url, encoding: .utf8)
        let fast = try #require(CanonicalLockReader.read(text))
        #expect(fast.files.count == 4)
    }

    @Test func everyEntryAloneReadsTheSameByBothReaders() throws {
        for (index, value) in Self.tricky.enumerated() {
            let text = LockWriter.render(Lockfile(specDigest: LockSamples.specDigest, files: [Self.entry(index, value: value)]))
            let full = try LockReader.read(text: text, file: "datapin.lock")
            if let fast = CanonicalLockReader.read(text) {
                #expect(fast == full, "value \(value.debugDescription)")
            }
        }
    }

    static let clean = LockWriter.render(Lockfile(specDigest: LockSamples.specDigest, files: [
        LockEntry(path: "a/one.fits", archive: "lab", dataset: "a", uri: "index:lab/a/one.fits", url: "https://x/one", size: 10, sha256: LockSamples.sha, access: .public),
        LockEntry(path: "b/two.fits", archive: "lab", dataset: "b", uri: "index:lab/b/two.fits", url: "https://x/two", size: 20, access: .public),
    ]))

    @Test(arguments: [
        ("b/two.fits", "a/0ne.fits"),                               // unsorted
        ("b/two.fits", "a/one.fits"),                               // duplicate path
        ("path: a/one.fits", "path: /etc/one.fits"),                // absolute
        ("path: a/one.fits", "path: a/../one.fits"),                // escapes
        ("path: a/one.fits", "path: .datapin-partial/one.fits"),    // datapin's working folder
        ("path: a/one.fits", "path: .DATAPIN/one.fits"),            // the same, as a case-insensitive file system sees it
        ("path: a/one.fits", "path: \"/etc/one.fits\""),            // absolute, quoted
        ("path: a/one.fits", "path: \"a/../one.fits\""),            // escapes, quoted
        ("path: a/one.fits", "path: a//one.fits"),                  // empty component
        ("path: a/one.fits", "path: a/./one.fits"),
        ("path: a/one.fits", "path: a/one.fits/"),
        ("path: a/one.fits", "path: a/\(String(repeating: "x", count: 256))"), // component too long
        ("url: https://x/one", "url: https://user:secret@x/one"),   // credentials in the URL
        ("size: 10", "size: \"10\""),                               // quoted number
        ("size: 10", "size: -1"),
        ("size: 10", "size: ten"),
        ("sha256: \(LockSamples.sha)", "sha256: abc"),
        ("access: public\n- path: b", "access: private\n- path: b"),
        ("  url: https://x/two\n", "  url: https://x/two\n  colour: red\n"), // unknown key
        ("  archive: lab\n  dataset: b", "  dataset: b\n  archive: lab"),     // key order: libyaml decides
        ("  url: https://x/one\n", "  url: null\n"),
        ("  url: https://x/one\n", "  url: \n"),
        ("version: 1", "version: 2"),
        ("\n", "\r\n"),
        ("archive: lab\n  dataset: a", "archive: lab # note\n  dataset: a"),
    ])
    func anythingUnusualIsLeftToTheLibYAMLReader(original: String, damaged: String) throws {
        #expect(Self.clean.contains(original))
        let text = Self.clean.replacingOccurrences(of: original, with: damaged)
        #expect(text != Self.clean)
        #expect(CanonicalLockReader.read(text) == nil)
    }

    /// Paths whose first component starts with a dot are judged by `PathSafety` itself; a safe
    /// one takes the fast path, and so do the entries after it in the same folder.
    @Test func aHiddenFolderThatIsNotDatapinsTakesTheFastPath() throws {
        let lock = Lockfile(specDigest: LockSamples.specDigest, files: [
            LockEntry(path: ".hidden/one.fits", archive: "lab", dataset: "a", uri: "index:lab/1", url: "https://x/1", size: 1, access: .public),
            LockEntry(path: ".hidden/two.fits", archive: "lab", dataset: "a", uri: "index:lab/2", url: "https://x/2", size: 2, access: .public),
            LockEntry(path: "a/three.fits", archive: "lab", dataset: "b", uri: "index:lab/3", url: "sftp://me@x/3", size: 3, access: .public),
        ])
        let fast = try #require(CanonicalLockReader.read(LockWriter.render(lock)))
        #expect(fast == lock)
    }

    static let associated = LockWriter.render(Lockfile(specDigest: LockSamples.specDigest, files: [
        LockEntry(path: "a/a_raw2raw.xml", archive: "eso", dataset: "a", uri: "eso:a/a_raw2raw.xml", url: "https://x/tree", size: 10, type: .association,
                  association: CalibrationAssociation(mode: .raw2master, executed: "Raw2Raw", certified: false, complete: true, files: 50)),
    ]))

    @Test func anAssociationAsWrittenTakesTheFastPath() throws {
        #expect(Self.associated.contains("\n  association: {mode: Raw2Master, executed: Raw2Raw, certified: false, complete: true, files: 50}\n"))
        let fast = try #require(CanonicalLockReader.read(Self.associated))
        #expect(fast == (try LockReader.read(text: Self.associated, file: "datapin.lock")))
        #expect(fast.files.first?.association == CalibrationAssociation(mode: .raw2master, executed: "Raw2Raw", certified: false, complete: true, files: 50))
    }

    @Test(arguments: [
        ("mode: Raw2Master", "mode: raw2master"),
        ("certified: false, complete: true", "complete: true, certified: false"),
        ("certified: false", "certified: no"),
        ("files: 50", "files: \"50\""),
        ("files: 50}", "files: 50, colour: red}"),
        ("executed: Raw2Raw", "executed: null"),
    ])
    func anUnusualAssociationIsLeftToTheLibYAMLReader(original: String, damaged: String) {
        let text = Self.associated.replacingOccurrences(of: original, with: damaged)
        #expect(text != Self.associated)
        #expect(CanonicalLockReader.read(text) == nil)
    }

    @Test func aMissingFinalNewlineOrTrailingTextIsLeftToLibYAML() {
        #expect(CanonicalLockReader.read(Self.clean) != nil)
        #expect(CanonicalLockReader.read(String(Self.clean.dropLast())) == nil)
        #expect(CanonicalLockReader.read(Self.clean + "extra: 1\n") == nil)
    }

    /// Cut at a line break anywhere (even between two entries, where what is left is a valid
    /// lock of fewer files), the lock lacks its closing line and the fast path refuses it.
    @Test func aLockCutAtAnyLineIsLeftToTheLibYAMLReader() {
        let lines = Self.clean.split(separator: "\n")
        #expect(lines.last.map(String.init) == LockWriter.closingLine)
        for count in 1..<lines.count {
            let cut = lines.prefix(count).joined(separator: "\n") + "\n"
            #expect(CanonicalLockReader.read(cut) == nil, "cut after line \(count)")
        }
        let empty = LockWriter.render(Lockfile(specDigest: LockSamples.specDigest, files: []))
        #expect(CanonicalLockReader.read(empty) != nil)
        #expect(CanonicalLockReader.read(empty.replacingOccurrences(of: LockWriter.closingLine + "\n", with: "")) == nil)
    }
}
