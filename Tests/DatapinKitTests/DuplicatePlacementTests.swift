import DatapinKit
@testable import DatapinSync
@testable import DatapinTransfer
import Foundation
import Testing
import TestSupport

/// Duplicates are placed by the one atomic write (`AtomicFile`) in folders made by `LocalFiles`,
/// never through a symbolic link.
@Suite struct DuplicatePlacementTests {
    static func run(_ actions: [SyncAction], in scratch: SyncScratch) -> SyncReport {
        let executor = SyncExecutor(tree: scratch.tree, cache: StateCache.load(from: scratch.tree), engine: TransferEngine(maxConcurrent: 1)) { _ in nil }
        return executor.run(SyncPlan(actions: actions, extras: [])) { _ in }
    }

    @Test func aLinkSharesTheFileAndACopyHasItsOwnAndNoTemporaryStays() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let entry = SyncScratch.entry("a/f.fits", "owner bytes", alsoPaths: ["b/f.fits", "c/d/f.fits"])
        try scratch.write("a/f.fits", "owner bytes")
        try scratch.write("c/d/f.fits", "stale bytes")

        let report = Self.run([.keep(entry), .place(entry, at: "b/f.fits", mode: .link), .place(entry, at: "c/d/f.fits", mode: .copy)], in: scratch)

        #expect(report.failed.isEmpty, "\(report.failed.map(\.failure.message))")
        #expect(report.duplicatesPlaced == ["b/f.fits", "c/d/f.fits"])
        let owner = try scratch.stat("a/f.fits"), linked = try scratch.stat("b/f.fits"), copied = try scratch.stat("c/d/f.fits")
        #expect(linked.inode == owner.inode)
        #expect(copied.inode != owner.inode)
        #expect(FileManager.default.contents(atPath: scratch.tree.finalURL(for: "c/d/f.fits").path) == Data("owner bytes".utf8))
        for folder in ["b", "c/d"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: scratch.tree.finalURL(for: folder).path)
            #expect(names == ["f.fits"], "\(folder): \(names)")
        }
    }

    @Test func aFolderOnTheWayThatIsASymbolicLinkIsRefusedAndNothingIsWrittenThroughIt() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let outside = scratch.root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: scratch.tree.finalURL(for: "evil"), withDestinationURL: outside)
        let entry = SyncScratch.entry("a/f.fits", "owner bytes", alsoPaths: ["evil/f.fits", "evil/sub/g.fits"])
        try scratch.write("a/f.fits", "owner bytes")

        let report = Self.run([.keep(entry), .place(entry, at: "evil/f.fits", mode: .copy), .place(entry, at: "evil/sub/g.fits", mode: .link)], in: scratch)

        #expect(report.duplicatesPlaced.isEmpty)
        #expect(report.failed.map(\.path) == ["evil/f.fits", "evil/sub/g.fits"])
        #expect(report.failed.allSatisfy { if case .unsafePath = $0.failure { return true }; return false }, "\(report.failed.map(\.failure.message))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)
    }

    @Test func localFilesJudgeWhatLiesBelowTheRootByPathSafety() {
        #expect(LocalFiles.relativeComponents(of: "/d/a/b.fits", under: "/d") == ["a", "b.fits"])
        #expect(LocalFiles.relativeComponents(of: "/d/.datapin-partial/0a1b.part", under: "/d") == [".datapin-partial", "0a1b.part"])
        #expect(LocalFiles.relativeComponents(of: "/elsewhere/a", under: "/d") == nil)
        for unsafe in ["/d/a/../b", "/d/./b", "/d/a//b", "/d/a\u{1B}b", "/d/a\\b", "/d/"] {
            #expect(LocalFiles.relativeComponents(of: unsafe, under: "/d") == [], "\(PathSafety.escaped(unsafe))")
        }
    }
}
