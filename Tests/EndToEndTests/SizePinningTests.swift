import DatapinKit
import Foundation
import Testing
import TestSupport

/// Files whose index gives no size (SHA256SUMS, pooch registries) get their size pinned in
/// datapin.lock with their checksum at the first verified download, so `ls` shows it and
/// `sync --frozen` accepts the lock afterwards, in the tree and in a fresh clone.
@Suite struct SizePinningTests {
    /// A project reading an HTTP-served pooch registry: `a.fits` with a plain SHA-256, `b.fits`
    /// with an `md5:` hash, neither with a size.
    struct Project {
        let directory: URL
        let server: LoopbackServer
        let files: [String: Data]

        func run(_ arguments: [String]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory)
        }

        func lock() throws -> Lockfile {
            try LockReader.read(contentsOf: directory.appendingPathComponent("datapin.lock").path)
        }
    }

    static func project() throws -> Project {
        let directory = try TestEnvironment.makeScratchDirectory("size-pin")
        let served = try TestEnvironment.makeScratchDirectory("size-pin-served")
        let files = ["a.fits": SyncCommandTests.bytes(5000, seed: 3), "b.fits": SyncCommandTests.bytes(7000, seed: 4)]
        for (name, bytes) in files { try bytes.write(to: served.appendingPathComponent(name)) }
        let md5 = TestDigest.hex(.md5, of: files["b.fits"]!)
        try "a.fits \(SyncCommandTests.sha256(files["a.fits"]!))\nb.fits md5:\(md5)\n"
            .write(to: served.appendingPathComponent("registry.txt"), atomically: true, encoding: .utf8)
        let server = try LoopbackServer(handler: LoopbackServer.files(root: served))
        try """
        version: 1
        destination: data
        layout: flat
        archives:
          lab: {type: index, url: "\(server.baseURL)/registry.txt"}
        datasets:
          - archive: lab
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return Project(directory: directory, server: server, files: files)
    }

    @Test func theFirstVerifiedDownloadPinsSizesAndChecksumsAndFrozenAcceptsTheLockThen() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        let locked = try project.run(["lock"])
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(try project.lock().files.allSatisfy { $0.size == nil }, "the registry gives no size")

        let frozen = try project.run(["sync", "--frozen"])
        #expect(frozen.status != 0)
        #expect(frozen.stderr.contains("2 files are locked without a checksum or a size"), "\(frozen.stderr)")
        #expect(frozen.stderr.contains("unpinned: b.fits (no sha256 and size)"), "\(frozen.stderr)")
        #expect(frozen.stderr.contains("unpinned: a.fits (no size)"), "\(frozen.stderr)")

        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.contains("pinned 1 checksum and 2 sizes; commit datapin.lock"), "\(sync.stderr)")
        for entry in try project.lock().files {
            let bytes = try #require(project.files[entry.path])
            #expect(entry.size == Int64(bytes.count), "\(entry.path)")
            #expect(entry.sha256 == SyncCommandTests.sha256(bytes), "\(entry.path)")
        }
        let listing = try project.run(["ls"])
        #expect(listing.stdout.contains("5.0 kB  pinned  a.fits") && listing.stdout.contains("7.0 kB  pinned  b.fits"), "ls shows the pinned sizes: \(listing.stdout)")

        #expect(try project.run(["sync", "--frozen"]).status == 0)
        let clone = try TestEnvironment.makeScratchDirectory("size-pin-clone")
        for name in ["datapin.yaml", "datapin.lock"] {
            try FileManager.default.copyItem(at: project.directory.appendingPathComponent(name), to: clone.appendingPathComponent(name))
        }
        let fresh = try Datapin.run(["sync", "--frozen"], in: clone)
        #expect(fresh.status == 0, "a fresh clone of the pinned lock syncs frozen: \(fresh.stderr)")
        #expect(FileManager.default.contents(atPath: clone.appendingPathComponent("data/b.fits").path) == project.files["b.fits"])
    }

    @Test func aReLockKeepsThePinnedSizes() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        #expect(try project.run(["lock"]).status == 0)
        #expect(try project.run(["sync"]).status == 0)
        let pinned = try project.lock()
        let relock = try project.run(["lock"])
        #expect(relock.status == 0, "\(relock.stderr)")
        #expect(try project.lock() == pinned, "a re-lock of an unchanged registry keeps every pin")
    }
}
