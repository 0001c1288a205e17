import Foundation
import Testing
import TestSupport
import DatapinKit
@testable import DatapinLock
@testable import DatapinSupport
@testable import DatapinSync

@Suite struct TreeVerifierTests {
    @Test func findingsForEveryKindOfFile() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let good = SyncScratch.entry("good.fits", "good")
        let missing = SyncScratch.entry("missing.fits", "missing")
        let resized = SyncScratch.entry("resized.fits", "resized")
        let altered = SyncScratch.entry("altered.fits", "altered")
        let unpinned = SyncScratch.entry("unpinned.fits", "unpinned", pinned: false)
        var md5Wrong = SyncScratch.entry("md5.fits", "md5 bytes")
        md5Wrong.checksum = Checksum(algorithm: "MD5", hex: String(repeating: "0", count: 32))
        var md5Right = SyncScratch.entry("md5ok.fits", "md5 bytes")
        md5Right.checksum = Checksum(algorithm: "md5", hex: TestDigest.hex(.md5, of: "md5 bytes"))
        let linked = SyncScratch.entry("linked.fits", "linked")
        let duplicated = SyncScratch.entry("dup/a.fits", "dup", alsoPaths: ["dup/b.fits"])
        for (path, text) in [("good.fits", "good"), ("resized.fits", "resized!"), ("altered.fits", "ALTERED"), ("unpinned.fits", "unpinned"),
                             ("md5.fits", "md5 bytes"), ("md5ok.fits", "md5 bytes"), ("target.txt", "linked"), ("dup/a.fits", "dup"), ("dup/b.fits", "DUP")] {
            try scratch.write(path, text)
        }
        try FileManager.default.createSymbolicLink(atPath: scratch.tree.finalURL(for: "linked.fits").path, withDestinationPath: "target.txt")
        let cache = StateCache.load(from: scratch.tree)
        // A stale trust in the cache must not stop verify from re-hashing.
        cache.record("altered.fits", stat: try scratch.stat("altered.fits"), sha256: altered.sha256!)

        let lock = Lockfile(specDigest: "x", files: [good, missing, resized, altered, unpinned, md5Wrong, md5Right, linked, duplicated])
        let findings = TreeVerifier.verify(lock: lock, tree: scratch.tree, cache: cache)
        let byPath = Dictionary(uniqueKeysWithValues: findings.map { ($0.path, $0.outcome) })
        #expect(findings.count == 10)
        #expect(byPath["good.fits"] == .ok)
        #expect(byPath["missing.fits"] == .missing)
        #expect(byPath["resized.fits"] == .sizeMismatch(expected: 7, actual: 8))
        #expect(byPath["altered.fits"] == .digestMismatch(expected: altered.sha256!, actual: SyncScratch.sha256("ALTERED")))
        #expect(byPath["unpinned.fits"] == .unpinned(actual: SyncScratch.sha256("unpinned")))
        #expect(byPath["md5.fits"] == .checksumMismatch(algorithm: "md5", expected: String(repeating: "0", count: 32), actual: TestDigest.hex(.md5, of: "md5 bytes")))
        #expect(byPath["md5ok.fits"] == .ok)
        #expect(byPath["linked.fits"] == .unreadable(reason: "linked.fits is a symbolic link"))
        #expect(byPath["dup/a.fits"] == .ok)
        #expect(byPath["dup/b.fits"] == .digestMismatch(expected: duplicated.sha256!, actual: SyncScratch.sha256("DUP")))
        #expect(findings.filter(\.isProblem).count == 6)

        #expect(cache.trustedDigest(for: "good.fits", stat: try scratch.stat("good.fits")) == good.sha256)
        #expect(cache.trustedDigest(for: "altered.fits", stat: try scratch.stat("altered.fits")) == nil)
    }

    @Test func manyFilesAreHashedInLockOrder() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let entries = (0..<64).map { SyncScratch.entry(String(format: "f%03d.fits", $0), String(repeating: "x", count: $0 * 1000)) }
        for (index, entry) in entries.enumerated() {
            try scratch.write(entry.path, index == 33 ? String(repeating: "y", count: index * 1000) : String(repeating: "x", count: index * 1000))
        }
        let findings = TreeVerifier.verify(lock: Lockfile(specDigest: "x", files: entries), tree: scratch.tree, cache: StateCache.load(from: scratch.tree))
        #expect(findings.map(\.path) == entries.map(\.path))
        #expect(findings.filter(\.isProblem).map(\.path) == ["f033.fits"])
    }
}
