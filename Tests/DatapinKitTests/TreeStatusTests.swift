import Foundation
import Testing
import TestSupport
import DatapinKit
@testable import DatapinLock
@testable import DatapinSync

@Suite struct TreeStatusTests {
    @Test func everyClassIsReported() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let clean = SyncScratch.entry("a/clean.fits", "clean")
        let missing = SyncScratch.entry("a/missing.fits", "missing")
        let partial = SyncScratch.entry("a/partial.fits", "partial bytes")
        let resized = SyncScratch.entry("b/resized.fits", "resized")
        let altered = SyncScratch.entry("b/altered.fits", "altered")
        let linkedAway = SyncScratch.entry("b/linked.fits", "linked")
        let duplicated = SyncScratch.entry("c/dup.fits", "dup", alsoPaths: ["d/dup.fits"])
        try scratch.write("a/clean.fits", "clean")
        try FileManager.default.createDirectory(at: scratch.tree.partialDirectory, withIntermediateDirectories: true)
        try Data("part".utf8).write(to: scratch.tree.partialURL(for: partial))
        try scratch.write("b/resized.fits", "resized!")
        try scratch.write("b/altered.fits", "ALTERED")
        try scratch.write("elsewhere.fits", "linked")
        try FileManager.default.createSymbolicLink(atPath: scratch.tree.finalURL(for: "b/linked.fits").path, withDestinationPath: "../elsewhere.fits")
        try scratch.write("c/dup.fits", "dup")
        try scratch.write("zz/extra.txt", "extra")
        try scratch.write("MANIFEST.html", "<html>")

        let lock = Lockfile(specDigest: "x", files: [clean, missing, partial, resized, altered, linkedAway, duplicated])
        let status = TreeStatusScanner.scan(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree))
        #expect(status.clean == 2)
        #expect(status.missing == [missing])
        #expect(status.partial == [partial])
        #expect(Set(status.modified) == [
            TreeStatus.Difference(entry: resized, path: "b/resized.fits", reason: "size 8 B, locked 7 B"),
            TreeStatus.Difference(entry: altered, path: "b/altered.fits", reason: "content differs from the pinned sha256"),
            TreeStatus.Difference(entry: linkedAway, path: "b/linked.fits", reason: "b/linked.fits is a symbolic link"),
        ])
        #expect(status.unplaced == [TreeStatus.Difference(entry: duplicated, path: "d/dup.fits", reason: "missing")])
        #expect(status.extra == ["elsewhere.fits", "zz/extra.txt"])
        #expect(!status.isClean)
    }

    @Test func cleanTreeIsCleanAndTrustedFilesAreNotRead() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let entries = (0..<20).map { SyncScratch.entry("set\($0 % 3)/file\($0).fits", "content \($0)") }
        for (index, entry) in entries.enumerated() { try scratch.write(entry.path, "content \(index)") }
        let lock = Lockfile(specDigest: "x", files: entries)
        let cache = StateCache.load(from: scratch.tree)

        let first = TreeStatusScanner.scan(lock: lock, tree: scratch.tree, cache: cache)
        #expect(first.isClean)
        #expect(first.clean == 20)
        #expect(cache.count == 20, "hashed and intact files are recorded")

        // Same size, same inode, mtime put back: trusted, so a scan that does not read it stays clean.
        try scratch.setModificationTime(entries[0].path, seconds: 1_000_000)
        cache.record(entries[0].path, stat: try scratch.stat(entries[0].path), sha256: entries[0].sha256!)
        let handle = try FileHandle(forWritingTo: scratch.tree.finalURL(for: entries[0].path))
        try handle.write(contentsOf: Data("C".utf8))
        try handle.close()
        try scratch.setModificationTime(entries[0].path, seconds: 1_000_000)
        #expect(TreeStatusScanner.scan(lock: lock, tree: scratch.tree, cache: cache).isClean)

        try scratch.setModificationTime(entries[0].path, seconds: 1_000_001)
        let touched = TreeStatusScanner.scan(lock: lock, tree: scratch.tree, cache: cache)
        #expect(touched.modified.map(\.path) == [entries[0].path])
    }
}
