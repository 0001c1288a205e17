import Foundation
import Testing
import TestSupport
import DatapinKit
@testable import DatapinLock
@testable import DatapinSync

@Suite struct SyncPlannerTests {
    /// One locked file `d/f.fits` whose locked content is "hello world", and what is on disk.
    enum Scene: String, CaseIterable, Sendable {
        case missing, partialHalf, partialComplete, partialLonger, shorter, sameSizeOtherBytes, correct, unpinnedCorrect, unpinnedOtherBytes, unsizedUnpinned
    }

    static let locked = "hello world"

    @Test(arguments: Scene.allCases)
    func actionForEachLocalState(scene: Scene) throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        var entry = SyncScratch.entry("d/f.fits", Self.locked)
        switch scene {
        case .missing: break
        case .partialHalf, .partialComplete, .partialLonger:
            let partial = switch scene { case .partialHalf: "hello"; case .partialComplete: Self.locked; default: Self.locked + "!" }
            try FileManager.default.createDirectory(at: scratch.tree.partialDirectory, withIntermediateDirectories: true)
            try Data(partial.utf8).write(to: scratch.tree.partialURL(for: entry))
        case .shorter: try scratch.write("d/f.fits", "hello")
        case .sameSizeOtherBytes: try scratch.write("d/f.fits", "HELLO WORLD")
        case .correct: try scratch.write("d/f.fits", Self.locked)
        case .unpinnedCorrect, .unpinnedOtherBytes:
            entry = SyncScratch.entry("d/f.fits", Self.locked, pinned: false)
            try scratch.write("d/f.fits", scene == .unpinnedCorrect ? Self.locked : "HELLO WORLD")
        case .unsizedUnpinned:
            entry = SyncScratch.entry("d/f.fits", Self.locked, pinned: false, sized: false)
            try scratch.write("d/f.fits", "anything at all")
        }
        let cache = StateCache.load(from: scratch.tree)
        let plan = try SyncPlanner(lock: Lockfile(specDigest: "x", files: [entry]), tree: scratch.tree, cache: cache).plan(prune: false)
        let expected: SyncAction = switch scene {
        case .missing, .partialLonger: .download(entry)
        case .partialHalf: .resume(entry, partialBytes: 5)
        case .partialComplete: .resume(entry, partialBytes: 11)
        case .shorter: .replace(entry, reason: "size 5 B, locked 11 B")
        case .sameSizeOtherBytes: .replace(entry, reason: "content differs from the pinned sha256")
        case .correct, .unpinnedCorrect, .unpinnedOtherBytes, .unsizedUnpinned: .keep(entry)
        }
        #expect(plan.actions == [expected])
        let recorded = cache.count == 1
        #expect(recorded == (scene == .correct), "only a file hashed and matching its pin is recorded")
    }

    @Test func trustedFilesAreNotReadAndTouchingForcesARehash() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let entry = SyncScratch.entry("f.fits", Self.locked)
        let lock = Lockfile(specDigest: "x", files: [entry])
        try scratch.write("f.fits", "HELLO WORLD")
        try scratch.setModificationTime("f.fits", seconds: 1_000_000)
        let cache = StateCache.load(from: scratch.tree)
        // The cache claims the (wrong) bytes are the pinned ones: trusted, so the file is not read.
        cache.record("f.fits", stat: try scratch.stat("f.fits"), sha256: entry.sha256!)
        #expect(try SyncPlanner(lock: lock, tree: scratch.tree, cache: cache).plan(prune: false).actions == [.keep(entry)])

        try scratch.setModificationTime("f.fits", seconds: 1_000_001)
        let plan = try SyncPlanner(lock: lock, tree: scratch.tree, cache: cache).plan(prune: false)
        #expect(plan.actions == [.replace(entry, reason: "content differs from the pinned sha256")])
        #expect(cache.count == 0, "a file found different is forgotten")
    }

    @Test func sameSizeNewBytesAreDetectedAfterAVerifiedPlan() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let entry = SyncScratch.entry("f.fits", Self.locked)
        let lock = Lockfile(specDigest: "x", files: [entry])
        try scratch.write("f.fits", Self.locked)
        let cache = StateCache.load(from: scratch.tree)
        #expect(try SyncPlanner(lock: lock, tree: scratch.tree, cache: cache).plan(prune: false).actions == [.keep(entry)])
        #expect(cache.trustedDigest(for: "f.fits", stat: try scratch.stat("f.fits")) == entry.sha256)

        let handle = try FileHandle(forWritingTo: scratch.tree.finalURL(for: "f.fits"))
        try handle.write(contentsOf: Data("J".utf8))
        try handle.close()
        #expect(try SyncPlanner(lock: lock, tree: scratch.tree, cache: cache).plan(prune: false).counts.replace == 1)
    }

    enum Hazard: String, CaseIterable, Sendable {
        case symlinkedFolderOutside, symlinkAtFile, folderAtFile, fileWhereFolderShouldBe, symlinkedPartialFolder, escapingLockPath
    }

    @Test(arguments: Hazard.allCases)
    func unsafePathsAreRefused(hazard: Hazard) throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let outside = scratch.root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        var entry = SyncScratch.entry("d/sub/f.fits", Self.locked)
        let expectedPath: String
        switch hazard {
        case .symlinkedFolderOutside:
            try FileManager.default.createDirectory(at: scratch.tree.finalURL(for: "d"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: scratch.tree.finalURL(for: "d/sub"), withDestinationURL: outside)
            expectedPath = "d/sub"
        case .symlinkAtFile:
            try scratch.write("d/sub/real.fits", Self.locked)
            try FileManager.default.createSymbolicLink(atPath: scratch.tree.finalURL(for: "d/sub/f.fits").path, withDestinationPath: "real.fits")
            expectedPath = "d/sub/f.fits"
        case .folderAtFile:
            try FileManager.default.createDirectory(at: scratch.tree.finalURL(for: "d/sub/f.fits"), withIntermediateDirectories: true)
            expectedPath = "d/sub/f.fits"
        case .fileWhereFolderShouldBe:
            try scratch.write("d", "a file")
            expectedPath = "d"
        case .symlinkedPartialFolder:
            try FileManager.default.createSymbolicLink(at: scratch.tree.partialDirectory, withDestinationURL: outside)
            expectedPath = ".datapin-partial"
        case .escapingLockPath:
            entry = SyncScratch.entry("../outside/f.fits", Self.locked)
            expectedPath = "../outside/f.fits"
        }
        let planner = SyncPlanner(lock: Lockfile(specDigest: "x", files: [entry]), tree: scratch.tree, cache: StateCache.load(from: scratch.tree))
        #expect {
            try planner.plan(prune: true)
        } throws: { error in
            guard case .unsafePath(let path, _) = error as? SyncPlanningError else { return false }
            return path == expectedPath
        }
    }

    @Test func duplicatesArePlacedUnlessAlreadyInPlace() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let entry = SyncScratch.entry("a/f.fits", Self.locked, alsoPaths: ["b/f.fits", "c/f.fits", "e/f.fits"])
        try scratch.write("a/f.fits", Self.locked)
        try FileManager.default.createDirectory(at: scratch.tree.finalURL(for: "b"), withIntermediateDirectories: true)
        try FileManager.default.linkItem(at: scratch.tree.finalURL(for: "a/f.fits"), to: scratch.tree.finalURL(for: "b/f.fits"))
        try scratch.write("c/f.fits", Self.locked)
        let lock = Lockfile(specDigest: "x", files: [entry])

        let linked = try SyncPlanner(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree), duplicates: .link).plan(prune: false)
        #expect(linked.actions == [.keep(entry), .place(entry, at: "c/f.fits", mode: .link), .place(entry, at: "e/f.fits", mode: .link)])

        let copied = try SyncPlanner(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree), duplicates: .copy).plan(prune: false)
        #expect(copied.actions == [.keep(entry), .place(entry, at: "e/f.fits", mode: .copy)])

        try scratch.write("c/f.fits", "HELLO WORLD")
        let changed = try SyncPlanner(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree), duplicates: .copy).plan(prune: false)
        #expect(changed.counts.place == 2)
    }

    @Test func unpinnedCopiesAreComparedWithTheirOriginal() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let entry = SyncScratch.entry("a/f.fits", Self.locked, pinned: false, alsoPaths: ["b/f.fits", "c/f.fits"])
        try scratch.write("a/f.fits", Self.locked)
        try scratch.write("b/f.fits", Self.locked)
        try scratch.write("c/f.fits", "HELLO WORLD")
        let plan = try SyncPlanner(lock: Lockfile(specDigest: "x", files: [entry]), tree: scratch.tree, cache: StateCache.load(from: scratch.tree), duplicates: .copy).plan(prune: false)
        #expect(plan.actions == [.keep(entry), .place(entry, at: "c/f.fits", mode: .copy)])
    }

    @Test func pruneListsOnlyUnlockedFilesAndNeverFollowsSymlinks() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let outside = scratch.root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: outside.appendingPathComponent("precious.txt"))
        let entry = SyncScratch.entry("d/f.fits", Self.locked)
        try scratch.write("d/f.fits", Self.locked)
        try scratch.write("d/old.fits", "12345")
        try scratch.write("z/stray.txt", "x")
        try scratch.write("MANIFEST.html", "<html>")
        try scratch.write("manifest.json", "{}")
        try scratch.write(".datapin-partial/abc.part", "partial")
        try scratch.write("d/deeper/.hidden", "h")
        try FileManager.default.createSymbolicLink(at: scratch.tree.finalURL(for: "link-out"), withDestinationURL: outside)
        let lock = Lockfile(specDigest: "x", files: [entry])

        let pruning = try SyncPlanner(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree)).plan(prune: true)
        #expect(pruning.actions == [
            .keep(entry),
            .prune(path: "d/deeper/.hidden", size: 1),
            .prune(path: "d/old.fits", size: 5),
            .prune(path: "link-out", size: Int64(outside.path.utf8.count)),
            .prune(path: "z/stray.txt", size: 1),
        ])
        #expect(pruning.extras.isEmpty)

        let listing = try SyncPlanner(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree)).plan(prune: false)
        #expect(listing.extras == ["d/deeper/.hidden", "d/old.fits", "link-out", "z/stray.txt"])
        #expect(listing.counts.prune == 0)
    }

    @Test func extrasAreFoundBesideLockedMissingFilesAndDuplicates() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let present = SyncScratch.entry("d/a.fits", "a")
        let absent = SyncScratch.entry("d/b.fits", "b")
        let duplicated = SyncScratch.entry("e/x.fits", "x", alsoPaths: ["f/x.fits"])
        for (path, text) in [("d/a.fits", "a"), ("d/c.fits", "c"), ("e/x.fits", "x"), ("f/x.fits", "x"), ("f/y.fits", "y"), ("g/h/i.fits", "i")] {
            try scratch.write(path, text)
        }
        let lock = Lockfile(specDigest: "x", files: [present, absent, duplicated])
        let plan = try SyncPlanner(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree), duplicates: .copy).plan(prune: false)
        #expect(plan.extras == ["d/c.fits", "f/y.fits", "g/h/i.fits"])
        #expect(plan.actions == [.keep(present), .download(absent), .keep(duplicated)])
    }

    @Test func stateFolderAndProtectedFilesInsideDestinationAreNeverExtraWhateverTheirNames() throws {
        let root = try TestEnvironment.makeScratchDirectory("sync")
        defer { try? FileManager.default.removeItem(at: root) }
        let protected = ["pin.yaml", "datapin.lock", "catalogs/SHA256SUMS"].map { root.appendingPathComponent($0) }
        let tree = SyncTree(destination: root, stateDirectory: root.appendingPathComponent(".datapin"), protectedPaths: Set(protected))
        for name in ["pin.yaml", "datapin.lock", "catalogs/SHA256SUMS", "catalogs/other.txt", ".datapin/sync-state", "notes.txt"] {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
        let plan = try SyncPlanner(lock: Lockfile(specDigest: "x", files: []), tree: tree, cache: StateCache.load(from: tree)).plan(prune: false)
        #expect(plan.extras == ["catalogs/other.txt", "notes.txt"])
        let pruning = try SyncPlanner(lock: Lockfile(specDigest: "x", files: []), tree: tree, cache: StateCache.load(from: tree)).plan(prune: true)
        #expect(pruning.actions == [.prune(path: "catalogs/other.txt", size: 1), .prune(path: "notes.txt", size: 1)])
    }

    @Test func totalsCountBytesAndUnpinnedTransfers() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let missing = SyncScratch.entry("a.fits", "0123456789")
        let unpinned = SyncScratch.entry("b.fits", "0123", pinned: false)
        let resumed = SyncScratch.entry("c.fits", "01234567")
        let kept = SyncScratch.entry("d.fits", "kept")
        try FileManager.default.createDirectory(at: scratch.tree.partialDirectory, withIntermediateDirectories: true)
        try Data("012".utf8).write(to: scratch.tree.partialURL(for: resumed))
        try scratch.write("d.fits", "kept")
        let plan = try SyncPlanner(lock: Lockfile(specDigest: "x", files: [missing, unpinned, resumed, kept]), tree: scratch.tree, cache: StateCache.load(from: scratch.tree)).plan(prune: false)
        #expect(plan.counts.download == 2)
        #expect(plan.counts.resume == 1)
        #expect(plan.counts.keep == 1)
        #expect(plan.bytesToTransfer == 10 + 4 + 5)
        #expect(plan.unpinnedTransfers == [unpinned])
        #expect(!plan.isNoOp)
    }

    @Test func partialFileNameDependsOnEveryIdentifyingField() {
        let tree = SyncTree(destination: URL(fileURLWithPath: "/d"), stateDirectory: URL(fileURLWithPath: "/s"))
        let base = SyncScratch.entry("a.fits", "abc")
        var otherURL = base
        otherURL.url += "?v=2"
        var otherSize = base
        otherSize.size = 4
        var otherDigest = base
        otherDigest.sha256 = SyncScratch.sha256("abd")
        let names = Set([base, otherURL, otherSize, otherDigest].map { tree.partialURL(for: $0) })
        #expect(names.count == 4)
        #expect(tree.partialURL(for: base) == tree.partialURL(for: SyncScratch.entry("a.fits", "abc")))
        #expect(tree.partialURL(for: base).deletingLastPathComponent().path == "/d/.datapin-partial")
    }
}
