import Foundation
import Synchronization
import Testing
import TestSupport
import DatapinKit
@testable import DatapinLock
@testable import DatapinSupport
@testable import DatapinSync

/// What lets the shards of one tree run at the same time: the sync lock, and state files of
/// their own that the next unsharded command takes in.
@Suite struct ShardStateTests {
    @Test func shardsHoldTheTreeTogetherAndAnUnshardedSyncWaitsForThemAll() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        var waits: [String] = []
        let first = try SyncLock.acquire(in: scratch.tree, shard: try Shard(index: 0, count: 2)) { waits.append($0) }
        let second = try SyncLock.acquire(in: scratch.tree, shard: try Shard(index: 1, count: 2)) { waits.append($0) }
        #expect(waits.isEmpty, "two shards of one tree do not wait for each other")

        let waited = Mutex<String?>(nil)
        let acquired = Mutex(false)
        let done = DispatchSemaphore(value: 0)
        let tree = scratch.tree
        Thread {
            let whole = try? SyncLock.acquire(in: tree) { holder in waited.withLock { $0 = holder } }
            acquired.withLock { $0 = whole != nil }
            whole?.release()
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 0.5) == .timedOut, "an unsharded sync waits while shards run")
        first.release()
        #expect(done.wait(timeout: .now() + 0.5) == .timedOut, "…while any shard runs")
        second.release()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(acquired.withLock { $0 })
        #expect(waited.withLock { $0 }?.hasPrefix("shard ") == true, "it names a shard it waits for")
    }

    @Test func twoRunsOfOneShardDoNotOverlap() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let shard = try Shard(index: 3, count: 4)
        let running = try SyncLock.acquire(in: scratch.tree, shard: shard) { _ in }
        let done = DispatchSemaphore(value: 0)
        let tree = scratch.tree
        Thread {
            let again = try? SyncLock.acquire(in: tree, shard: shard) { _ in }
            again?.release()
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 0.5) == .timedOut)
        running.release()
        #expect(done.wait(timeout: .now() + 10) == .success)
    }

    @Test func aShardSavesOnlyItsOwnRecordsAndAnUnshardedSaveTakesThemIn() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        for name in ["a", "b", "c"] { try scratch.write("\(name).fits", name) }
        let shard = try Shard(index: 0, count: 2)
        let cache = StateCache.load(from: scratch.tree, scope: .shard(shard, paths: ["a.fits"]))
        cache.record("a.fits", stat: try scratch.stat("a.fits"), sha256: SyncScratch.sha256("a"))
        cache.record("b.fits", stat: try scratch.stat("b.fits"), sha256: SyncScratch.sha256("b"))
        try cache.save()
        let state = scratch.tree.stateDirectory
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent(StateCache.fileName).path), "a shard never writes the tree's cache")
        let copy = state.appendingPathComponent("\(StateCache.fileName).0-of-2")
        #expect(FileManager.default.fileExists(atPath: copy.path))

        let merged = StateCache.load(from: scratch.tree)
        #expect(merged.trustedDigest(for: "a.fits", stat: try scratch.stat("a.fits")) == SyncScratch.sha256("a"), "every load reads the shards' records")
        #expect(merged.trustedDigest(for: "b.fits", stat: try scratch.stat("b.fits")) == nil, "a shard keeps no record of another shard's path")
        try merged.save()
        #expect(FileManager.default.fileExists(atPath: copy.path), "status and verify leave the shards' copies")
        try StateCache.load(from: scratch.tree).save(absorbingShards: true)
        #expect(!FileManager.default.fileExists(atPath: copy.path), "an unsharded sync takes them in…")
        #expect(StateCache.load(from: scratch.tree).trustedDigest(for: "a.fits", stat: try scratch.stat("a.fits")) == SyncScratch.sha256("a"), "…and keeps their records")
    }

    @Test func upstreamMismatchesOfShardsAreMergedAndTakenIn() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let a = SyncScratch.entry("a.fits", "a"), b = SyncScratch.entry("b.fits", "b")
        let lock = Lockfile(specDigest: "sha256:x", files: [a, b])
        try FileManager.default.createDirectory(at: scratch.tree.stateDirectory, withIntermediateDirectories: true)
        UpstreamMismatches.update(failed: ["a.fits"], attempted: [a], of: lock, in: scratch.tree, shard: try Shard(index: 0, count: 2))
        UpstreamMismatches.update(failed: ["b.fits"], attempted: [b], of: lock, in: scratch.tree, shard: try Shard(index: 1, count: 2))
        #expect(UpstreamMismatches.load(stateDirectory: scratch.tree.stateDirectory).paths(in: lock) == ["a.fits", "b.fits"])
        // Shard 1 fetches b again and it matches: only its own record goes.
        UpstreamMismatches.update(failed: [], attempted: [b], of: lock, in: scratch.tree, shard: try Shard(index: 1, count: 2))
        #expect(UpstreamMismatches.load(stateDirectory: scratch.tree.stateDirectory).paths(in: lock) == ["a.fits"])
        UpstreamMismatches.update(failed: [], attempted: [], of: lock, in: scratch.tree)
        #expect(ShardStateFiles.shardCopies(of: UpstreamMismatches.fileName, in: scratch.tree.stateDirectory).isEmpty)
        #expect(UpstreamMismatches.load(stateDirectory: scratch.tree.stateDirectory).paths(in: lock) == ["a.fits"])
    }

    @Test func shardsFoldTheirPinsIntoTheLockAsItIsOnDisk() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try scratch.write("a.fits", "a")
        try scratch.write("b.fits", "b")
        let a = SyncScratch.entry("a.fits", "a", pinned: false), b = SyncScratch.entry("b.fits", "b", pinned: false)
        let lock = Lockfile(specDigest: "sha256:" + String(repeating: "0", count: 64), files: [a, b])
        let lockFile = scratch.root.appendingPathComponent("datapin.lock")
        try AtomicFile.write(LockWriter.render(lock), to: lockFile)
        let first = PinJournal(stateDirectory: scratch.tree.stateDirectory, shard: try Shard(index: 0, count: 2))
        let second = PinJournal(stateDirectory: scratch.tree.stateDirectory, shard: try Shard(index: 1, count: 2))
        try FileManager.default.createDirectory(at: scratch.tree.stateDirectory, withIntermediateDirectories: true)
        first.recordPin(for: a, size: 1, sha256: SyncScratch.sha256("a"))
        second.recordPin(for: b, size: 1, sha256: SyncScratch.sha256("b"))
        // Both shards started from the same lock in memory; the second folds after the first wrote.
        _ = try first.foldIntoLockFile(lock, tree: scratch.tree, lockFile: lockFile)
        let folded = try second.foldIntoLockFile(lock, tree: scratch.tree, lockFile: lockFile)
        let onDisk = try LockReader.read(contentsOf: lockFile.path)
        #expect(onDisk.files.map(\.sha256) == [SyncScratch.sha256("a"), SyncScratch.sha256("b")], "no shard's pins are lost")
        #expect(folded.lock == onDisk)
        #expect(first.isEmpty && second.isEmpty)
    }

    @Test func anUnshardedSyncFoldsWhatShardsLeftInTheirJournals() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try scratch.write("a.fits", "a")
        let a = SyncScratch.entry("a.fits", "a", pinned: false)
        try FileManager.default.createDirectory(at: scratch.tree.stateDirectory, withIntermediateDirectories: true)
        PinJournal(stateDirectory: scratch.tree.stateDirectory, shard: try Shard(index: 1, count: 3)).recordPin(for: a, size: 1, sha256: SyncScratch.sha256("a"))
        let journal = PinJournal(stateDirectory: scratch.tree.stateDirectory)
        #expect(!journal.isEmpty)
        let folded = journal.fold(into: Lockfile(specDigest: "sha256:x", files: [a]), tree: scratch.tree)
        #expect(folded.lock.files.first?.sha256 == SyncScratch.sha256("a"))
        journal.clear()
        #expect(ShardStateFiles.shardCopies(of: PinJournal.fileName, in: scratch.tree.stateDirectory).isEmpty)
    }
}
