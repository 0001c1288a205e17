import DatapinKit
@testable import DatapinLock
@testable import DatapinSupport
@testable import DatapinSync
import Foundation
import Testing
import TestSupport

/// The pin journal's rules: which records become pins, and which are ignored.
@Suite struct PinJournalTests {
    /// A destination with `files` in place and a journal beside it.
    struct Fixture {
        let tree: SyncTree
        let journal: PinJournal

        init(files: [String: Data]) throws {
            let root = try TestEnvironment.makeScratchDirectory("journal")
            let state = root.appendingPathComponent(".datapin")
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
            tree = SyncTree(destination: root.appendingPathComponent("data"), stateDirectory: state)
            for (path, data) in files {
                let url = tree.finalURL(for: path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: url)
            }
            journal = PinJournal(stateDirectory: state)
        }
    }

    static func entry(_ path: String, size: Int64?, url: String? = nil) -> LockEntry {
        LockEntry(path: path, archive: "lab", dataset: "ds1", uri: "index:lab/\(path)", url: url ?? "https://example.org/\(path)", size: size)
    }

    static func sha256(_ data: Data) -> String {
        TestDigest.hex(.sha256, of: data)
    }

    @Test func aFetchWithoutAPinIsHashedWhenItsFileIsInPlace() throws {
        // A kill between a file's rename and its `pin` line leaves only the `fetch` line.
        let bytes = Data("verified bytes".utf8)
        let fixture = try Fixture(files: ["ds1/a.bin": bytes])
        let lock = Lockfile(specDigest: "sha256:x", files: [Self.entry("ds1/a.bin", size: Int64(bytes.count)), Self.entry("ds1/missing.bin", size: 5)])
        try fixture.journal.recordFetches(lock.files)
        #expect(fixture.journal.awaitingPins(in: lock).map(\.path) == ["ds1/a.bin", "ds1/missing.bin"])
        let folded = fixture.journal.fold(into: lock, tree: fixture.tree)
        #expect(folded.pinned.entries == 1)
        #expect(folded.lock.files[0].sha256 == Self.sha256(bytes))
        #expect(folded.lock.files[1].sha256 == nil, "a file that never arrived is not pinned")
    }

    @Test func anEntryWithoutASizeGetsTheObservedSizeAndChecksum() throws {
        let bytes = Data("a registry gives no size".utf8)
        let fixture = try Fixture(files: ["ds1/a.bin": bytes, "ds1/b.bin": bytes, "ds1/c.bin": bytes])
        var pinnedOnly = Self.entry("ds1/b.bin", size: nil)
        pinnedOnly.sha256 = Self.sha256(bytes)
        var otherBytes = Self.entry("ds1/c.bin", size: nil)
        otherBytes.sha256 = String(repeating: "c", count: 64)
        let lock = Lockfile(specDigest: "sha256:x", files: [Self.entry("ds1/a.bin", size: nil), pinnedOnly, otherBytes])
        #expect(lock.files.map(\.needsPin) == [true, true, true])
        try fixture.journal.recordFetches(lock.files)
        fixture.journal.recordPin(for: lock.files[0], size: Int64(bytes.count), sha256: Self.sha256(bytes))
        let folded = fixture.journal.fold(into: lock, tree: fixture.tree)
        #expect(folded.pinned == PinJournal.Pinned(entries: 2, checksums: 1, sizes: 2))
        #expect(folded.lock.files.map(\.size) == [Int64(bytes.count), Int64(bytes.count), nil], "bytes other than the locked sha256 give no size")
        #expect(folded.lock.files[0].sha256 == Self.sha256(bytes))
        #expect(!folded.lock.files[0].needsPin && !folded.lock.files[1].needsPin)
    }

    @Test func aPinCountsOnlyForTheSameEntryWithItsFileInPlaceAtThatSize() throws {
        let bytes = Data("twelve bytes".utf8)
        let fixture = try Fixture(files: ["ds1/a.bin": bytes, "ds1/b.bin": bytes, "ds1/c.bin": bytes])
        let a = Self.entry("ds1/a.bin", size: nil), b = Self.entry("ds1/b.bin", size: nil), c = Self.entry("ds1/c.bin", size: nil)
        fixture.journal.recordPin(for: a, size: Int64(bytes.count), sha256: String(repeating: "a", count: 64))
        fixture.journal.recordPin(for: b, size: Int64(bytes.count) + 1, sha256: String(repeating: "b", count: 64))
        fixture.journal.recordPin(for: c, size: Int64(bytes.count), sha256: String(repeating: "c", count: 64))
        // The lock holds another file at c's path since: the record was made for another entry.
        var otherC = c
        otherC.uri = "index:lab/ds2/c.bin"
        let lock = Lockfile(specDigest: "sha256:x", files: [a, b, otherC])
        let folded = fixture.journal.fold(into: lock, tree: fixture.tree)
        #expect(folded.pinned.entries == 1)
        #expect(folded.lock.files.map(\.sha256) == [String(repeating: "a", count: 64), nil, nil])
        // A new URL for the same file (a mirror, after `lock --update`) keeps the pin.
        let moved = Lockfile(specDigest: "sha256:x", files: [Self.entry("ds1/a.bin", size: nil, url: "https://mirror.example.org/a.bin")])
        #expect(fixture.journal.fold(into: moved, tree: fixture.tree).pinned.entries == 1)
        fixture.journal.clear()
        #expect(fixture.journal.fold(into: lock, tree: fixture.tree).pinned.entries == 0)
        #expect(fixture.journal.awaitingPins(in: lock).isEmpty)
    }

    @Test func aLastLineCutShortByAKillIsIgnored() throws {
        let bytes = Data("abc".utf8)
        let fixture = try Fixture(files: ["a.bin": bytes, "b.bin": bytes])
        let a = Self.entry("a.bin", size: 3), b = Self.entry("b.bin", size: 3)
        fixture.journal.recordPin(for: a, size: 3, sha256: Self.sha256(bytes))
        let key = PinJournal.key(for: b)
        let handle = try FileHandle(forWritingTo: fixture.journal.url)
        handle.seekToEndOfFile()
        handle.write(Data("pin\t\(key)\t3\t\(Self.sha256(bytes).prefix(20))".utf8))
        try handle.close()
        let folded = fixture.journal.fold(into: Lockfile(specDigest: "sha256:x", files: [a, b]), tree: fixture.tree)
        #expect(folded.lock.files.map(\.sha256) == [Self.sha256(bytes), nil])
    }

    @Test func keptFilesArePinnedOnlyFromTheDigestTheStateCacheVouchesFor() throws {
        let verified = Data("verified".utf8), damaged = Data("damaged!".utf8), foreign = Data("foreign!".utf8)
        let fixture = try Fixture(files: ["a.bin": verified, "b.bin": verified, "c.bin": foreign])
        let cache = StateCache.load(from: fixture.tree)
        for path in ["a.bin", "b.bin"] {
            let stat = try #require(FileStat(lstatAt: fixture.tree.finalURL(for: path).path))
            cache.record(path, stat: stat, sha256: Self.sha256(verified))
        }
        // b.bin is damaged in place at its size after datapin verified it; c.bin datapin never placed.
        try damaged.write(to: fixture.tree.finalURL(for: "b.bin"))
        let entries = ["a.bin", "b.bin", "c.bin"].map { Self.entry($0, size: 8) }
        let unpinnable = fixture.journal.recordKept(entries, tree: fixture.tree, cache: cache)
        #expect(unpinnable.map(\.path) == ["b.bin", "c.bin"])
        let folded = fixture.journal.fold(into: Lockfile(specDigest: "sha256:x", files: entries), tree: fixture.tree)
        #expect(folded.lock.files.map(\.sha256) == [Self.sha256(verified), nil, nil], "never a digest of bytes datapin did not verify")
        #expect(fixture.journal.awaitingPins(in: folded.lock).isEmpty, "nothing left for a later sync to hash")
    }

    @Test func foldingIntoTheLockFileWritesThePinsThenEmptiesTheJournal() throws {
        let bytes = Data("abc".utf8)
        let fixture = try Fixture(files: ["a.bin": bytes])
        let entry = Self.entry("a.bin", size: 3)
        let lock = Lockfile(specDigest: "sha256:" + String(repeating: "0", count: 64), files: [entry])
        fixture.journal.recordPin(for: entry, size: 3, sha256: Self.sha256(bytes))
        // A lockfile that cannot be written (its folder is missing): the journal keeps the pin.
        let unwritable = fixture.tree.stateDirectory.appendingPathComponent("missing/datapin.lock")
        #expect(throws: PinJournal.FoldError.self) { try fixture.journal.foldIntoLockFile(lock, tree: fixture.tree, lockFile: unwritable) }
        #expect(!fixture.journal.isEmpty)

        let lockFile = fixture.tree.stateDirectory.deletingLastPathComponent().appendingPathComponent("datapin.lock")
        let folded = try fixture.journal.foldIntoLockFile(lock, tree: fixture.tree, lockFile: lockFile)
        #expect(folded.pinned.entries == 1)
        #expect(try LockReader.read(contentsOf: lockFile.path).files.map(\.sha256) == [Self.sha256(bytes)])
        #expect(fixture.journal.isEmpty)
    }
}
