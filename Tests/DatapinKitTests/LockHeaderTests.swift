import DatapinKit
import Foundation
import Testing
import TestSupport

/// `lock --check` reads the spec digest from the lock's first and last lines only.
@Suite struct LockHeaderTests {
    static func write(_ text: String) throws -> String {
        let url = try TestEnvironment.makeScratchDirectory("lockheader").appendingPathComponent("datapin.lock")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    static func lock(files: Int) -> String {
        LockWriter.render(Lockfile(specDigest: digest, files: (0..<files).map { LockEntry(path: "ds/\($0).fits", archive: "lab", dataset: "ds", uri: "lab:\($0)", url: "https://lab.example.org/\($0)") }))
    }

    @Test func aWrittenLockGivesItsDigest() throws {
        #expect(LockHeader.specDigest(contentsOf: try Self.write(Self.lock(files: 3))) == Self.digest)
        #expect(LockHeader.specDigest(contentsOf: try Self.write(Self.lock(files: 0))) == Self.digest)
    }

    @Test func aLockNotAsTheWriterWroteItGivesNothing() throws {
        let text = Self.lock(files: 3)
        #expect(LockHeader.specDigest(contentsOf: try Self.write(String(text.dropLast(30)))) == nil, "cut short")
        #expect(LockHeader.specDigest(contentsOf: try Self.write(text.replacingOccurrences(of: "version: 1", with: "version: 2"))) == nil)
        #expect(LockHeader.specDigest(contentsOf: try Self.write(text.replacingOccurrences(of: "# Generated", with: "# generated"))) == nil)
        #expect(LockHeader.specDigest(contentsOf: try Self.write(text.replacingOccurrences(of: "ababab", with: "ABABAB"))) == nil)
        #expect(LockHeader.specDigest(contentsOf: "/nonexistent/datapin.lock") == nil)
        #expect(LockHeader.specDigest(contentsOf: try Self.write("")) == nil)
    }
}
