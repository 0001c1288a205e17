import Foundation
import Testing
import TestSupport
import DatapinKit
@testable import DatapinLock
@testable import DatapinSupport
@testable import DatapinSync

/// A scratch destination and state folder for sync tests, with helpers to write files and lock entries.
struct SyncScratch {
    let root: URL
    let tree: SyncTree

    init() throws {
        root = try TestEnvironment.makeScratchDirectory("sync")
        tree = SyncTree(destination: root.appendingPathComponent("data"), stateDirectory: root.appendingPathComponent(".datapin"))
        try FileManager.default.createDirectory(at: tree.destination, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: root) }

    @discardableResult
    func write(_ relativePath: String, _ text: String) throws -> URL {
        let url = tree.finalURL(for: relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url
    }

    func stat(_ relativePath: String) throws -> FileStat {
        try #require(FileStat(lstatAt: tree.finalURL(for: relativePath).path))
    }

    /// Sets a file's modification time to `seconds` after the epoch.
    func setModificationTime(_ relativePath: String, seconds: Int) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, tree.finalURL(for: relativePath).path, &times, AT_SYMLINK_NOFOLLOW) == 0)
    }

    static func sha256(_ text: String) -> String { TestDigest.hex(.sha256, of: text) }

    static func entry(_ path: String, _ content: String, pinned: Bool = true, sized: Bool = true, alsoPaths: [String] = []) -> LockEntry {
        LockEntry(path: path, archive: "test", dataset: "d1", uri: "test:\(path)", url: "http://127.0.0.1/\(path)",
                  size: sized ? Int64(content.utf8.count) : nil, sha256: pinned ? sha256(content) : nil, alsoPaths: alsoPaths)
    }
}

@Suite struct StateCacheTests {
    @Test func recordsSurviveSaveAndLoad() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try scratch.write("a/one.fits", "one")
        let stat = try scratch.stat("a/one.fits")
        let cache = StateCache.load(from: scratch.tree)
        #expect(cache.count == 0)
        cache.record("a/one.fits", stat: stat, sha256: SyncScratch.sha256("one"))
        try cache.save()

        let reloaded = StateCache.load(from: scratch.tree)
        #expect(reloaded.count == 1)
        #expect(reloaded.trustedDigest(for: "a/one.fits", stat: stat) == SyncScratch.sha256("one"))
        #expect(reloaded.trustedDigest(for: "a/other.fits", stat: stat) == nil)
    }

    @Test(arguments: [
        (FileStat(size: 4, mtimeNanoseconds: 10, inode: 7), true),
        (FileStat(size: 5, mtimeNanoseconds: 10, inode: 7), false),
        (FileStat(size: 4, mtimeNanoseconds: 11, inode: 7), false),
        (FileStat(size: 4, mtimeNanoseconds: 10, inode: 8), false),
    ])
    func trustNeedsSizeMtimeAndInode(stat: FileStat, trusted: Bool) throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let cache = StateCache.load(from: scratch.tree)
        cache.record("f", stat: FileStat(size: 4, mtimeNanoseconds: 10, inode: 7), sha256: SyncScratch.sha256("abcd"))
        #expect((cache.trustedDigest(for: "f", stat: stat) != nil) == trusted)
    }

    @Test func touchingTheFileEndsTrust() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try scratch.write("f", "same")
        try scratch.setModificationTime("f", seconds: 1_000_000)
        let cache = StateCache.load(from: scratch.tree)
        cache.record("f", stat: try scratch.stat("f"), sha256: SyncScratch.sha256("same"))
        try scratch.setModificationTime("f", seconds: 2_000_000)
        #expect(cache.trustedDigest(for: "f", stat: try scratch.stat("f")) == nil)
    }

    @Test(arguments: [
        "garbage",
        "datapin-sync-state 1\t/elsewhere\n4\t10\t7\t\(String(repeating: "a", count: 64))\tf\n",
        "datapin-sync-state 1\t{dest}\n4\tten\t7\t\(String(repeating: "a", count: 64))\tf\n",
        "datapin-sync-state 1\t{dest}\n4\t10\t7\tnothex\tf\n",
        "datapin-sync-state 1\t{dest}\n4\t10\t7\t\(String(repeating: "a", count: 64))\tf",
    ])
    func corruptOrForeignCacheIsEmpty(content: String) throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try FileManager.default.createDirectory(at: scratch.tree.stateDirectory, withIntermediateDirectories: true)
        let text = content.replacingOccurrences(of: "{dest}", with: scratch.tree.destination.path)
        try Data(text.utf8).write(to: scratch.tree.stateDirectory.appendingPathComponent(StateCache.fileName))
        #expect(StateCache.load(from: scratch.tree).count == 0)
    }

    @Test func wellFormedHandWrittenCacheLoads() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try FileManager.default.createDirectory(at: scratch.tree.stateDirectory, withIntermediateDirectories: true)
        let digest = String(repeating: "ab", count: 32)
        let text = "datapin-sync-state 1\t\(scratch.tree.destination.path)\n4\t10\t7\t\(digest)\tdir/a file.fits\n"
        try Data(text.utf8).write(to: scratch.tree.stateDirectory.appendingPathComponent(StateCache.fileName))
        let cache = StateCache.load(from: scratch.tree)
        #expect(cache.trustedDigest(for: "dir/a file.fits", stat: FileStat(size: 4, mtimeNanoseconds: 10, inode: 7)) == digest)
    }

    @Test func forgetAndRetainOnlyDropRecords() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let cache = StateCache.load(from: scratch.tree)
        let stat = FileStat(size: 1, mtimeNanoseconds: 1, inode: 1)
        for path in ["a", "b", "c"] { cache.record(path, stat: stat, sha256: SyncScratch.sha256(path)) }
        cache.forget("a")
        cache.retainOnly(["b"])
        #expect(cache.count == 1)
        #expect(cache.trustedDigest(for: "b", stat: stat) != nil)
    }

    @Test func savingAnUnchangedCacheWritesNothing() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try StateCache.load(from: scratch.tree).save()
        #expect(!FileManager.default.fileExists(atPath: scratch.tree.stateDirectory.appendingPathComponent(StateCache.fileName).path))
    }
}
