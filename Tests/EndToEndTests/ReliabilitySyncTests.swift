import DatapinKit
import Foundation
import Testing
import TestSupport

/// Issue 9's holes in locking and syncing, closed: manifests that would overwrite archive files,
/// pins lost to kill -9, credentials in URLs, and names that hide or clash.
@Suite struct ReliabilitySyncTests {
    /// One file a catalog lists: its name (path under the dataset), bytes, whether the catalog
    /// gives its sha256, and the URL it lists (nil: `ds1/<name>`, relative to the catalog).
    struct Listed {
        var name: String
        var data: Data
        var pinned = true
        var url: String?
    }

    /// A project whose index archive `lab` is served over HTTP: dataset `ds1` with `files`.
    /// `respond` may answer a file request itself (nil: serve the file).
    struct Project {
        let directory: URL
        let server: LoopbackServer

        var data: URL { directory.appendingPathComponent("data") }
        var lockText: String { (try? String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)) ?? "" }
        var lockExists: Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path) }

        func run(_ arguments: [String]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory)
        }

        func writeSpec(_ extra: String, catalogURL: String? = nil) throws {
            try """
            version: 1
            destination: data
            \(extra)
            archives:
              lab: {type: index, url: "\(catalogURL ?? server.baseURL + "/catalog.json")"}
            datasets:
              - archive: lab
            """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        }
    }

    static func project(_ files: [Listed], spec extra: String = "", respond: @escaping @Sendable (LoopbackRequest, Int) -> LoopbackResponse? = { _, _ in nil }) throws -> Project {
        let directory = try TestEnvironment.makeScratchDirectory("reliability")
        let served = try TestEnvironment.makeScratchDirectory("served")
        var listed: [[String: Any]] = []
        for file in files {
            let target = served.appendingPathComponent("ds1/\(file.name)")
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.data.write(to: target)
            var entry: [String: Any] = ["name": file.name, "url": file.url ?? "ds1/\(file.name)", "size": file.data.count]
            if file.pinned { entry["sha256"] = SyncCommandTests.sha256(file.data) }
            listed.append(entry)
        }
        let catalog = try JSONSerialization.data(withJSONObject: ["datasets": [["id": "ds1", "files": listed]]], options: [.sortedKeys])
        try catalog.write(to: served.appendingPathComponent("catalog.json"))
        let serve = LoopbackServer.files(root: served)
        let attempts = Attempts()
        let server = try LoopbackServer { request in
            guard request.path != "/catalog.json" else { return serve(request) }
            return respond(request, attempts.next(request.path)) ?? serve(request)
        }
        let project = Project(directory: directory, server: server)
        try project.writeSpec(extra)
        return project
    }

    // MARK: 1. Manifests never overwrite archive files

    @Test func filesNamedLikeTheManifestsAreRefusedAtLockTime() throws {
        let project = try Self.project([
            Listed(name: "MANIFEST.html", data: SyncCommandTests.bytes(3000, seed: 1)),
            Listed(name: "Manifest.JSON", data: SyncCommandTests.bytes(700, seed: 2)),
        ], spec: "layout: flat")
        defer { project.server.shutdown() }
        let lock = try project.run(["lock"])
        #expect(lock.status == 2, "\(lock.stderr)")
        #expect(lock.stderr.contains("datapin.yaml:3:9: error: 'index:lab/ds1/MANIFEST.html' (dataset 'ds1') would be placed at 'MANIFEST.html', where `manifest: true` writes the download manifest MANIFEST.html"), "\(lock.stderr)")
        #expect(lock.stderr.contains("would be placed at 'Manifest.JSON', where `manifest: true` writes the download manifest manifest.json"), "compared without case: \(lock.stderr)")
        #expect(lock.stderr.contains("set `manifest: false`, or use `layout: nested`"))
        #expect(!project.lockExists, "nothing is written")

        try project.writeSpec("layout: flat\nmanifest: false")
        #expect(try project.run(["lock"]).status == 0)
        #expect(try project.run(["sync"]).status == 0)
        #expect(FileManager.default.contents(atPath: project.data.appendingPathComponent("MANIFEST.html").path) == SyncCommandTests.bytes(3000, seed: 1))
    }

    @Test func aLockWithAFileWhereTheManifestGoesIsRefusedBeforeFetching() throws {
        let project = try Self.project([Listed(name: "manifest.json", data: SyncCommandTests.bytes(3000, seed: 3))], spec: "layout: flat\nmanifest: false")
        defer { project.server.shutdown() }
        #expect(try project.run(["lock"]).status == 0)
        // `manifest` is not part of what is locked, so turning it on leaves the lock fresh.
        try project.writeSpec("layout: flat\nmanifest: true")
        let sync = try project.run(["sync"])
        #expect(sync.status == 2, "\(sync.stderr)")
        #expect(sync.stderr.contains("datapin.lock places 'manifest.json' at the top of the destination, where `manifest: true` writes the download manifest; nothing was fetched"), "\(sync.stderr)")
        #expect(!project.server.requests.contains { $0.path == "/ds1/manifest.json" })
        #expect(!FileManager.default.fileExists(atPath: project.data.appendingPathComponent("manifest.json").path))
    }

    // MARK: 2. Pins survive kill -9

    @Test func pinsObservedBeforeAKillAreWrittenByTheNextSyncAndFrozenRefusesMeanwhile() throws {
        let unpinned = (0..<4).map { Listed(name: "u\($0).bin", data: SyncCommandTests.bytes(20_000 + $0, seed: UInt8($0)), pinned: false) }
        let stalled = Listed(name: "z_stalled.bin", data: SyncCommandTests.bytes(50_000, seed: 9))
        let project = try Self.project(unpinned + [stalled]) { request, attempt in
            // The pinned file hangs on the first sync, so it can be killed while the others are placed.
            request.path == "/ds1/z_stalled.bin" && attempt == 1
                ? LoopbackResponse.serving(stalled.data, for: request).with(fault: .slow(chunkSize: 1, delayMilliseconds: 2000)) : nil
        }
        defer { project.server.shutdown() }
        #expect(try project.run(["lock"]).status == 0)
        let lockBefore = project.lockText

        let process = try Datapin.start(["sync", "--jobs", "8"], in: project.directory)
        let deadline = Date().addingTimeInterval(60)
        let placed = { unpinned.allSatisfy { FileManager.default.contents(atPath: project.data.appendingPathComponent("ds1/\($0.name)").path) == $0.data } }
        while !placed() && Date() < deadline && process.isRunning { usleep(20_000) }
        #expect(placed(), "the unpinned files are placed while the last one hangs")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(project.lockText == lockBefore, "killed before the pins were written")

        let frozen = try project.run(["sync", "--frozen"])
        #expect(frozen.status == 1, "\(frozen.stderr)")
        #expect(frozen.stderr.contains("4 files are locked without a checksum and need pinning (4 of them fetched by an earlier sync that stopped before writing their checksums), which --frozen does not allow; run `datapin sync` without --frozen once and commit datapin.lock"), "\(frozen.stderr)")
        #expect(project.lockText == lockBefore, "--frozen never changes the lock")

        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.contains("pinned 4 checksums; commit datapin.lock"), "\(sync.stderr)")
        for file in unpinned {
            #expect(project.lockText.contains(SyncCommandTests.sha256(file.data)), "\(file.name) is pinned")
        }
        #expect(project.server.requests.filter { $0.path.hasPrefix("/ds1/u") }.count == 4, "the placed files are not fetched again")
        #expect(try project.run(["sync", "--frozen"]).status == 0)
        #expect(try project.run(["verify"]).status == 0)
    }

    // MARK: 5. Credentials in URLs never leak

    @Test func aCatalogURLWithCredentialsIsASpecErrorThatNeverShowsTheSecret() throws {
        let project = try Self.project([Listed(name: "a.bin", data: SyncCommandTests.bytes(10, seed: 1))])
        defer { project.server.shutdown() }
        let hostAndPort = project.server.baseURL.replacingOccurrences(of: "http://", with: "")
        try project.writeSpec("", catalogURL: "http://user:hunter2secret@\(hostAndPort)/catalog.json")
        let lock = try project.run(["lock"])
        #expect(lock.status == 2, "\(lock.stderr)")
        #expect(lock.stderr.contains("datapin.yaml:5:27: error: 'url' of archive 'lab' has credentials in it (http://***@\(hostAndPort)/catalog.json); put credentials in ~/.netrc"), "\(lock.stderr)")
        #expect(lock.stderr.contains("token_env"))
        #expect(lock.stderr.contains("  lab: {type: index, url: ***"), "the quoted line is masked: \(lock.stderr)")
        #expect(!lock.stderr.contains("hunter2") && !lock.stdout.contains("hunter2"))
        #expect(project.server.requests.isEmpty, "nothing is asked")
    }

    @Test func aListedFileURLWithCredentialsIsRefusedAtLockTime() throws {
        let server = try LoopbackServer { _ in .status(404) }
        defer { server.shutdown() }
        let project = try Self.project([
            Listed(name: "a.bin", data: SyncCommandTests.bytes(10, seed: 1)),
            Listed(name: "b.bin", data: SyncCommandTests.bytes(10, seed: 2), url: server.baseURL.replacingOccurrences(of: "http://", with: "http://me:hunter2secret@") + "/b.bin"),
        ])
        defer { project.server.shutdown() }
        let lock = try project.run(["lock"])
        #expect(lock.status == 2, "\(lock.stderr)")
        #expect(lock.stderr.contains("archive 'lab', dataset 'ds1': file 'b.bin' has credentials in its download URL (http://***@127.0.0.1"), "\(lock.stderr)")
        #expect(lock.stderr.contains("~/.netrc"))
        #expect(!lock.stderr.contains("hunter2") && !lock.stdout.contains("hunter2"))
        #expect(!project.lockExists, "the URL never reaches a lock, so `ls` and `export script` cannot show it")
    }

    // MARK: 11. Names that hide or clash

    @Test func aNameWithABidiOverrideIsRefusedAndPrintedEscaped() throws {
        let project = try Self.project([
            Listed(name: "report\u{202E}fdp.exe", data: SyncCommandTests.bytes(10, seed: 1)),
            Listed(name: "zero\u{200B}width.bin", data: SyncCommandTests.bytes(10, seed: 2)),
        ])
        defer { project.server.shutdown() }
        let lock = try project.run(["lock"])
        #expect(lock.status == 2, "\(lock.stderr)")
        #expect(lock.stderr.contains("file 'report\\u{202E}fdp.exe' cannot be placed under the destination: the path contains the invisible format character U+202E"), "\(lock.stderr)")
        #expect(lock.stderr.contains("file 'zero\\u{200B}width.bin' cannot be placed"), "\(lock.stderr)")
        #expect(!lock.stderr.unicodeScalars.contains { $0.properties.generalCategory == .format }, "never printed raw")
        #expect(!project.lockExists)
    }

    @Test func namesThatDifferOnlyInCaseAreRefusedUnlessTheDestinationIsCaseSensitive() throws {
        let project = try Self.project([
            Listed(name: "Data.bin", data: SyncCommandTests.bytes(10, seed: 1)),
            Listed(name: "data.bin", data: SyncCommandTests.bytes(11, seed: 2)),
            Listed(name: "Sub/x.bin", data: SyncCommandTests.bytes(12, seed: 3)),
            Listed(name: "sub/y.bin", data: SyncCommandTests.bytes(13, seed: 4)),
        ])
        defer { project.server.shutdown() }
        let lock = try project.run(["lock"])
        #expect(lock.status == 2, "\(lock.stderr)")
        #expect(lock.stderr.contains("'ds1/Data.bin' (dataset 'ds1') and 'ds1/data.bin' (dataset 'ds1') differ only in case, so they would be one file on a case-insensitive file system (macOS, Windows)"), "\(lock.stderr)")
        #expect(lock.stderr.contains("'ds1/Sub/x.bin' (dataset 'ds1') and 'ds1/sub/y.bin' (dataset 'ds1') differ only in case ('ds1/Sub' and 'ds1/sub')"), "folders too: \(lock.stderr)")
        #expect(lock.stderr.contains("set `case_sensitive: true`"))
        #expect(!project.lockExists)

        try project.writeSpec("case_sensitive: true")
        let relock = try project.run(["lock"])
        #expect(relock.status == 0, "\(relock.stderr)")
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(FileManager.default.contents(atPath: project.data.appendingPathComponent("ds1/data.bin").path) == SyncCommandTests.bytes(11, seed: 2))
        #expect(FileManager.default.contents(atPath: project.data.appendingPathComponent("ds1/Data.bin").path) == SyncCommandTests.bytes(10, seed: 1))
    }

    @Test func aLockMadeCaseSensitiveIsRefusedBeforeFetchingWhereCaseIsNotTold() throws {
        let project = try Self.project([
            Listed(name: "Data.bin", data: SyncCommandTests.bytes(10, seed: 1)),
            Listed(name: "data.bin", data: SyncCommandTests.bytes(11, seed: 2)),
            Listed(name: "Sub/x.bin", data: SyncCommandTests.bytes(12, seed: 3)),
            Listed(name: "sub/y.bin", data: SyncCommandTests.bytes(13, seed: 4)),
        ], spec: "case_sensitive: true")
        defer { project.server.shutdown() }
        #expect(try project.run(["lock"]).status == 0)
        let locked = project.lockText
        // `case_sensitive` is not part of what is locked (a clone onto macOS is the same), so
        // turning it off leaves the lock fresh: only sync's own check stands in the way.
        try project.writeSpec("")
        for arguments in [["sync"], ["sync", "--dry-run"], ["sync", "--frozen"]] {
            let sync = try project.run(arguments)
            #expect(sync.status == 2, "\(arguments): \(sync.stderr)")
            #expect(sync.stderr.contains("datapin.lock places 'ds1/Data.bin' and 'ds1/data.bin', which differ only in case, so they would be one file on a case-insensitive file system (macOS, Windows); nothing was fetched"), "\(sync.stderr)")
            #expect(sync.stderr.contains("datapin.lock places 'ds1/Sub/x.bin' and 'ds1/sub/y.bin', which differ only in case ('ds1/Sub' and 'ds1/sub')"), "folders too: \(sync.stderr)")
            #expect(sync.stderr.contains("set `case_sensitive: true` in datapin.yaml"), "\(sync.stderr)")
        }
        #expect(!project.server.requests.contains { $0.path.hasPrefix("/ds1/") }, "nothing was fetched")
        #expect(!FileManager.default.fileExists(atPath: project.data.appendingPathComponent("ds1").path))
        #expect(project.lockText == locked)
    }
}
