import DatapinKit
import Foundation
import Synchronization
import Testing
import TestSupport

/// `datapin sync / status / verify` run as a user would, against a real loopback HTTP server
/// that misbehaves on purpose.
@Suite struct SyncCommandTests {
    /// A project whose index archive is served over HTTP: `files` (name → bytes) in dataset
    /// `ds1`, a catalog with sizes and (unless `pinned` is false) SHA-256 digests.
    struct Project {
        let directory: URL
        let served: URL
        let files: [String: Data]

        var data: URL { directory.appendingPathComponent("data") }

        func local(_ name: String) -> Data? { FileManager.default.contents(atPath: data.appendingPathComponent("ds1/\(name)").path) }

        func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory, environment: environment)
        }
    }

    static func sha256(_ data: Data) -> String {
        TestDigest.hex(.sha256, of: data)
    }

    static func bytes(_ count: Int, seed: UInt8) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
    }

    /// Writes the served folder and the spec; `handler` wraps the plain file handler.
    static func project(files: [String: Data], pinned: Bool = true, extraSpec: String = "") throws -> Project {
        let directory = try TestEnvironment.makeScratchDirectory("sync")
        let served = try TestEnvironment.makeScratchDirectory("served")
        try FileManager.default.createDirectory(at: served.appendingPathComponent("ds1"), withIntermediateDirectories: true)
        var listed: [[String: Any]] = []
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            try data.write(to: served.appendingPathComponent("ds1/\(name)"))
            var file: [String: Any] = ["name": name, "url": "ds1/\(name)", "size": data.count]
            if pinned { file["sha256"] = sha256(data) }
            listed.append(file)
        }
        let catalog = try JSONSerialization.data(withJSONObject: ["datasets": [["id": "ds1", "files": listed]]], options: [.sortedKeys])
        try catalog.write(to: served.appendingPathComponent("catalog.json"))
        return Project(directory: directory, served: served, files: files)
    }

    static func writeSpec(_ project: Project, url: String, extra: String = "") throws {
        try """
        version: 1
        destination: data
        \(extra)
        archives:
          lab: {type: index, url: "\(url)/catalog.json"}
        datasets:
          - archive: lab
        """.write(to: project.directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
    }

    /// A locked project whose server answers through `misbehave` first (nil: serve the file).
    static func lockedProject(files: [String: Data], pinned: Bool = true, honourRange: Bool = true, extraSpec: String = "",
                              misbehave: @escaping @Sendable (LoopbackRequest, Int) -> LoopbackResponse? = { _, _ in nil }) throws -> (Project, LoopbackServer) {
        let project = try project(files: files, pinned: pinned)
        let serve = LoopbackServer.files(root: project.served, honourRange: honourRange)
        let attempts = Attempts()
        let server = try LoopbackServer { request in
            guard request.path != "/catalog.json" else { return serve(request) }
            return misbehave(request, attempts.next(request.path)) ?? serve(request)
        }
        try writeSpec(project, url: server.baseURL, extra: extraSpec)
        let lock = try project.run(["lock"])
        #expect(lock.status == 0, "lock: \(lock.stderr)")
        return (project, server)
    }

    static let small: [String: Data] = [
        "a_cal.fits": bytes(40_000, seed: 1),
        "b_cal.fits": bytes(70_001, seed: 2),
        "c_x1d.fits": bytes(5, seed: 3),
    ]

    func expectTreeMatches(_ project: Project, _ names: [String]? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for name in names ?? Array(project.files.keys) {
            #expect(project.local(name) == project.files[name], "\(name)", sourceLocation: sourceLocation)
        }
    }

    func partials(_ project: Project) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: project.data.appendingPathComponent(".datapin-partial").path)) ?? []
    }

    // MARK: The main job

    @Test func syncFetchesVerifiesAndThenHasNothingToDo() throws {
        let (project, server) = try Self.lockedProject(files: Self.small)
        defer { server.shutdown() }
        let first = try project.run(["sync"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("Synced 3 files"))
        expectTreeMatches(project)
        #expect(server.requests.allSatisfy { $0.header("User-Agent")?.hasPrefix("datapin/") == true })
        let manifest = try String(contentsOf: project.data.appendingPathComponent("MANIFEST.html"), encoding: .utf8)
        #expect(manifest.contains("<td>index:lab/ds1/a_cal.fits</td><td>ds1/a_cal.fits</td><td>public</td><td>OK</td><td>anonymous</td>"))
        #expect(FileManager.default.fileExists(atPath: project.data.appendingPathComponent("manifest.json").path))

        let requestsBefore = server.requests.count
        let again = try project.run(["sync"])
        #expect(again.status == 0)
        #expect(again.stderr.contains("Up to date: 3 files in place, nothing to fetch"))
        #expect(server.requests.count == requestsBefore, "a no-op sync makes no request")

        let status = try project.run(["status", "--check"])
        #expect(status.status == 0, "\(status.stdout)")
        #expect(status.stdout.contains("Clean: 3 files"))
        let verify = try project.run(["verify"])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("Verified 3 files"))
    }

    @Test func statusAndVerifySeeDamageAndSyncRepairsIt() throws {
        let (project, server) = try Self.lockedProject(files: Self.small)
        defer { server.shutdown() }
        #expect(try project.run(["sync"]).status == 0)
        // Same size, other bytes, mtime kept: only verify (which trusts nothing) sees it.
        let target = project.data.appendingPathComponent("ds1/b_cal.fits")
        let attributes = try FileManager.default.attributesOfItem(atPath: target.path)
        var damaged = Self.small["b_cal.fits"]!
        damaged[100] ^= 0xFF
        try damaged.write(to: target)
        try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: target.path)
        try FileManager.default.removeItem(at: project.data.appendingPathComponent("ds1/c_x1d.fits"))
        try Data("mine".utf8).write(to: project.data.appendingPathComponent("ds1/notes.txt"))

        let status = try project.run(["status", "--check"])
        #expect(status.status == 1)
        #expect(status.stdout.contains("missing   ds1/c_x1d.fits"))
        #expect(status.stdout.contains("extra     ds1/notes.txt"))
        let verify = try project.run(["verify"])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("ds1/b_cal.fits: sha256 is \(Self.sha256(damaged)), the lock says \(Self.sha256(Self.small["b_cal.fits"]!))"))
        #expect(verify.stdout.contains("ds1/c_x1d.fits: missing"))

        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        expectTreeMatches(project)
        #expect(FileManager.default.fileExists(atPath: project.data.appendingPathComponent("ds1/notes.txt").path), "nothing is deleted without --prune")
        #expect(try project.run(["verify"]).status == 0)
    }

    @Test func dryRunChangesNothingAndPruneIsBounded() throws {
        let (project, server) = try Self.lockedProject(files: Self.small)
        defer { server.shutdown() }
        let dry = try project.run(["sync", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("fetch ds1/a_cal.fits (40.0 kB)"))
        #expect(dry.stdout.contains("Would fetch 3 files (110.0 kB)"))
        #expect(!FileManager.default.fileExists(atPath: project.data.appendingPathComponent("ds1/a_cal.fits").path))
        #expect(server.requests.count == 1, "only lock's catalog request")

        #expect(try project.run(["sync"]).status == 0)
        for index in 0..<3 { try Data("x".utf8).write(to: project.data.appendingPathComponent("ds1/extra\(index).txt")) }
        let refused = try project.run(["sync", "--prune", "--max-delete", "2"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--prune would remove 3 files, more than --max-delete 2; nothing was changed"))
        #expect(FileManager.default.fileExists(atPath: project.data.appendingPathComponent("ds1/extra0.txt").path))
        let pruned = try project.run(["sync", "--prune"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.data.appendingPathComponent("ds1/extra0.txt").path))
        expectTreeMatches(project)
        #expect(FileManager.default.fileExists(atPath: project.data.appendingPathComponent("MANIFEST.html").path), "datapin's own files are never pruned")
    }

    // MARK: Pinning and --frozen

    @Test func unpinnedFilesArePinnedAfterTheirFirstVerifiedDownload() throws {
        let (project, server) = try Self.lockedProject(files: Self.small, pinned: false)
        defer { server.shutdown() }
        let lockURL = project.directory.appendingPathComponent("datapin.lock")
        #expect(!(try String(contentsOf: lockURL, encoding: .utf8)).contains("sha256: "))
        let frozen = try project.run(["sync", "--frozen"])
        #expect(frozen.status == 1)
        #expect(frozen.stderr.contains("3 files are locked without a checksum"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: project.data.path)) ?? []).allSatisfy { $0.hasPrefix(".") })

        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.contains("pinned 3 checksums; commit datapin.lock"))
        let lock = try String(contentsOf: lockURL, encoding: .utf8)
        for (name, data) in Self.small { #expect(lock.contains("- path: ds1/\(name)\n") && lock.contains("  sha256: \(Self.sha256(data))\n")) }
        #expect(try project.run(["lock", "--check"]).status == 0, "pins do not make the lock stale")
        #expect(try project.run(["sync", "--frozen"]).status == 0)
    }

    /// A file locked without a checksum cannot be checked whole, so bytes of an attempt cut short
    /// are never resumed from: had the server changed the file in between (ESO rewrites headers
    /// on the fly), a resumed download would place and pin a mix of two versions.
    @Test func aFileWithoutAChecksumIsFetchedAgainFromByteZeroAfterACutNeverResumed() throws {
        let otherVersion = Self.bytes(40_000, seed: 9)
        let (project, server) = try Self.lockedProject(files: Self.small, pinned: false) { request, attempt in
            guard request.path == "/ds1/a_cal.fits", attempt == 1 else { return nil }
            return LoopbackResponse.serving(otherVersion, for: request).with(fault: .truncateAfter(bytes: 20_000))
        }
        defer { server.shutdown() }
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let attempts = server.requests.filter { $0.path == "/ds1/a_cal.fits" }
        #expect(attempts.count == 2 && attempts.allSatisfy { $0.header("Range") == nil }, "\(attempts.map { $0.header("Range") ?? "-" })")
        #expect(project.local("a_cal.fits") == Self.small["a_cal.fits"], "the whole second version, not a mix")
        let lock = try String(contentsOf: project.directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        #expect(lock.contains("sha256: \(Self.sha256(try #require(Self.small["a_cal.fits"])))"), "pinned to the bytes placed")
    }

    /// A lock that lost its pins (an older datapin.lock checked out, say) gets them back from
    /// the files in place, without a download: from the sync state where datapin verified the
    /// bytes, by hashing where that record is gone; --frozen refuses meanwhile, as in a clone.
    @Test func filesDatapinPlacedArePinnedAgainWithoutADownloadWhenTheLockLostItsPins() throws {
        let downloads = Attempts()
        let (project, server) = try Self.lockedProject(files: Self.small, pinned: false) { request, _ in
            _ = downloads.next("all")
            return nil
        }
        defer { server.shutdown() }
        let lockURL = project.directory.appendingPathComponent("datapin.lock")
        let unpinnedLock = try Data(contentsOf: lockURL)
        #expect(try project.run(["sync"]).status == 0)
        let pinnedLock = try Data(contentsOf: lockURL)
        #expect(pinnedLock != unpinnedLock)
        #expect(downloads.next("all") == 4, "three downloads, then this call")

        // The state cache remembers the bytes datapin verified: they are pinned again, in the
        // lock and in the manifest written after the sync.
        try unpinnedLock.write(to: lockURL)
        let manifestURL = project.data.appendingPathComponent("manifest.json")
        try FileManager.default.removeItem(at: manifestURL)
        let frozen = try project.run(["sync", "--frozen"])
        #expect(frozen.status == 1, "the lock alone has files to pin: \(frozen.stderr)")
        #expect(frozen.stderr.contains("3 files are locked without a checksum"), "\(frozen.stderr)")
        #expect(try Data(contentsOf: lockURL) == unpinnedLock, "--frozen never changes the lock")
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.contains("pinned 3 checksums; commit datapin.lock"), "\(sync.stderr)")
        #expect(!sync.stderr.contains("not pinned"), "\(sync.stderr)")
        #expect(try Data(contentsOf: lockURL) == pinnedLock)
        let manifest = try String(contentsOf: manifestURL, encoding: .utf8)
        for data in Self.small.values {
            #expect(manifest.contains("\"sha256\": \"\(Self.sha256(data))\""), "\(manifest)")
        }
        #expect(try project.run(["sync", "--frozen"]).status == 0)
        #expect(downloads.next("all") == 5, "nothing was downloaded again")

        // Without the state, datapin cannot vouch for the files: kept by size, never pinned.
        try unpinnedLock.write(to: lockURL)
        try FileManager.default.removeItem(at: project.directory.appendingPathComponent(".datapin"))
        let unvouched = try project.run(["sync"])
        #expect(unvouched.status == 0, "\(unvouched.stderr)")
        #expect(unvouched.stderr.contains("warning: 3 files are in place and kept by their size, but not pinned: datapin did not download them into this tree"), "\(unvouched.stderr)")
        #expect(unvouched.stderr.contains("delete them and run `datapin sync`"), "\(unvouched.stderr)")
        #expect(!unvouched.stderr.contains("pinned 3"), "\(unvouched.stderr)")
        #expect(try Data(contentsOf: lockURL) == unpinnedLock, "nothing pinned from bytes datapin did not verify")
        #expect(try project.run(["sync"]).stderr.contains("3 files are in place and kept by their size, but not pinned"), "said again until they are pinned")
        #expect(try project.run(["sync", "--frozen"]).status == 1)
        #expect(downloads.next("all") == 6, "nothing was downloaded")

        // As the warning says: deleted and synced, they are downloaded, verified and pinned.
        try FileManager.default.removeItem(at: project.data)
        let fetched = try project.run(["sync"])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(try Data(contentsOf: lockURL) == pinnedLock)
        #expect(downloads.next("all") == 10, "three downloads")
        expectTreeMatches(project)
    }

    @Test func aFileDamagedInPlaceAtItsSizeIsNeverPinned() throws {
        let (project, server) = try Self.lockedProject(files: Self.small, pinned: false)
        defer { server.shutdown() }
        let lockURL = project.directory.appendingPathComponent("datapin.lock")
        let unpinnedLock = try Data(contentsOf: lockURL)
        #expect(try project.run(["sync"]).status == 0)
        try unpinnedLock.write(to: lockURL)
        let damaged = Self.bytes(70_001, seed: 99)
        try damaged.write(to: project.data.appendingPathComponent("ds1/b_cal.fits"))

        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.contains("pinned 2 checksums"), "\(sync.stderr)")
        #expect(sync.stderr.contains("1 file is in place and kept by its size, but not pinned"), "\(sync.stderr)")
        #expect(sync.stderr.contains("not pinned: ds1/b_cal.fits"), "\(sync.stderr)")
        let lock = try LockReader.read(contentsOf: lockURL.path)
        let pins = Dictionary(uniqueKeysWithValues: lock.files.map { ($0.path, $0.sha256) })
        #expect(pins["ds1/a_cal.fits"] == Self.sha256(Self.small["a_cal.fits"]!))
        #expect(pins["ds1/b_cal.fits"] == .some(nil), "the damaged bytes never become the pin")
        #expect(!lock.files.contains { $0.sha256 == Self.sha256(damaged) })
    }

    @Test func frozenRefusesAStaleLock() throws {
        let (project, server) = try Self.lockedProject(files: Self.small)
        defer { server.shutdown() }
        try Self.writeSpec(project, url: server.baseURL, extra: "layout: flat")
        let frozen = try project.run(["sync", "--frozen"])
        #expect(frozen.status == 1)
        #expect(frozen.stderr.contains("datapin.lock is stale"))
    }

    // MARK: Faults

    @Test func serverErrorsAndRateLimitsAreRetried() throws {
        let (project, server) = try Self.lockedProject(files: Self.small) { request, attempt in
            guard attempt == 1 else { return nil }
            if request.path == "/ds1/a_cal.fits" { return .status(500, body: "try again") }
            if request.path == "/ds1/b_cal.fits" { return .status(429, body: "slow down", headers: [("Retry-After", "1")]) }
            return nil
        }
        defer { server.shutdown() }
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        expectTreeMatches(project)
        #expect(server.requests.filter { $0.path == "/ds1/a_cal.fits" }.count == 2)
        #expect(server.requests.filter { $0.path == "/ds1/b_cal.fits" }.count == 2)
        #expect(sync.stderr.contains("retrying ds1/b_cal.fits"))
    }

    @Test(arguments: [LoopbackFault.resetAfter(bytes: 30_000), .truncateAfter(bytes: 30_000)])
    func anInterruptedBodyResumesWithARange(fault: LoopbackFault) throws {
        let (project, server) = try Self.lockedProject(files: Self.small) { request, attempt in
            guard attempt == 1, request.path == "/ds1/b_cal.fits" else { return nil }
            return LoopbackResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: Self.small["b_cal.fits"]!, fault: fault)
        }
        defer { server.shutdown() }
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        expectTreeMatches(project)
        let second = try #require(server.requests.filter { $0.path == "/ds1/b_cal.fits" }.dropFirst().first)
        #expect(second.header("Range")?.hasPrefix("bytes=") == true && second.header("Range") != "bytes=0-", "\(second.headers)")
        #expect(partials(project).isEmpty)
    }

    @Test func aServerThatIgnoresRangeStartsOverCleanly() throws {
        let (project, server) = try Self.lockedProject(files: Self.small, honourRange: false) { request, attempt in
            guard attempt == 1, request.path == "/ds1/b_cal.fits" else { return nil }
            return LoopbackResponse(status: 200, body: Self.small["b_cal.fits"]!, fault: .resetAfter(bytes: 20_000))
        }
        defer { server.shutdown() }
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        expectTreeMatches(project)
    }

    @Test func wrongBytesAreNeverPlacedAndTheRestStillLands() throws {
        let (project, server) = try Self.lockedProject(files: Self.small) { request, _ in
            guard request.path == "/ds1/b_cal.fits" else { return nil }
            var wrong = Self.small["b_cal.fits"]!
            wrong[7] ^= 0x01
            return .ok(wrong)
        }
        defer { server.shutdown() }
        let sync = try project.run(["sync"])
        #expect(sync.status == 4, "\(sync.stderr)")
        #expect(sync.stderr.contains("ds1/b_cal.fits"))
        #expect(sync.stderr.contains(Self.sha256(Self.small["b_cal.fits"]!)), "both digests are reported")
        #expect(project.local("b_cal.fits") == nil)
        expectTreeMatches(project, ["a_cal.fits", "c_x1d.fits"])
        let manifest = try String(contentsOf: project.data.appendingPathComponent("MANIFEST.html"), encoding: .utf8)
        #expect(manifest.contains("<td>ds1/b_cal.fits</td><td>public</td><td>failed: "))
    }

    @Test func aMissingFileIsATransferFailureNamingFileURLAndStatus() throws {
        let (project, server) = try Self.lockedProject(files: Self.small) { request, _ in
            request.path == "/ds1/c_x1d.fits" ? .status(404, body: "gone") : nil
        }
        defer { server.shutdown() }
        let sync = try project.run(["sync", "--prune"])
        #expect(sync.status == 3, "\(sync.stderr)")
        #expect(sync.stderr.contains("ds1/c_x1d.fits: \(server.baseURL)/ds1/c_x1d.fits answered HTTP 404"))
        #expect(server.requests.filter { $0.path == "/ds1/c_x1d.fits" }.count == 1, "a 404 is not retried")
        expectTreeMatches(project, ["a_cal.fits", "b_cal.fits"])
    }

    @Test func exclusiveFilesWithoutATokenAreSkippedWithExitFive() throws {
        let project = try Self.project(files: Self.small)
        let catalogURL = project.served.appendingPathComponent("catalog.json")
        let catalog = try String(contentsOf: catalogURL, encoding: .utf8)
            .replacingOccurrences(of: "\"name\":\"b_cal.fits\"", with: "\"access\":\"exclusive\",\"name\":\"b_cal.fits\"")
        try catalog.write(to: catalogURL, atomically: true, encoding: .utf8)
        let server = try LoopbackServer { request in
            if request.path == "/ds1/b_cal.fits", request.header("Authorization") != "Bearer s3cret-token" { return .status(401) }
            return LoopbackServer.files(root: project.served)(request)
        }
        defer { server.shutdown() }
        try """
        version: 1
        archives:
          lab: {type: index, url: "\(server.baseURL)/catalog.json", token_env: LAB_TOKEN}
        datasets:
          - archive: lab
        """.write(to: project.directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        #expect(try project.run(["lock"]).status == 0)
        let without = try project.run(["sync"])
        #expect(without.status == 5, "\(without.stderr)")
        #expect(without.stderr.contains("skipped 1 exclusive-access file without a token; set LAB_TOKEN"))
        expectTreeMatches(project, ["a_cal.fits", "c_x1d.fits"])
        #expect(project.local("b_cal.fits") == nil)

        let with = try project.run(["sync", "--json"], environment: ["LAB_TOKEN": "s3cret-token"])
        #expect(with.status == 0, "\(with.stderr)")
        expectTreeMatches(project)
        for text in [with.stdout, with.stderr, try String(contentsOf: project.data.appendingPathComponent("MANIFEST.html"), encoding: .utf8)] {
            #expect(!text.contains("s3cret-token"))
        }
        let events = with.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.contains { $0["event"] as? String == "placed" && $0["path"] as? String == "ds1/b_cal.fits" })
        #expect(events.last?["event"] as? String == "summary")
    }

    // MARK: Killed mid-transfer

    /// A locked project with one big file whose first download is slow, a sync of it started,
    /// and the size its partial file reached (more than 300 kB, or whatever it was after 30 s).
    func startSlowSync() throws -> (project: Project, server: LoopbackServer, process: Process, partialBytes: Int) {
        let big = Self.bytes(4_000_000, seed: 9)
        let (project, server) = try Self.lockedProject(files: ["big.fits": big, "small.fits": Self.bytes(10, seed: 4)]) { request, attempt in
            guard attempt == 1, request.path == "/ds1/big.fits" else { return nil }
            return LoopbackResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: big, fault: .slow(chunkSize: 65_536, delayMilliseconds: 40))
        }
        let process = try Datapin.start(["sync", "--no-progress"], in: project.directory)
        let partialFolder = project.data.appendingPathComponent(".datapin-partial")
        let deadline = Date().addingTimeInterval(30)
        var partialBytes = 0
        while Date() < deadline {
            let sizes = ((try? FileManager.default.contentsOfDirectory(atPath: partialFolder.path)) ?? []).compactMap {
                (try? FileManager.default.attributesOfItem(atPath: partialFolder.appendingPathComponent($0).path))?[.size] as? Int
            }
            partialBytes = sizes.max() ?? 0
            if partialBytes > 300_000 { break }
            usleep(20_000)
        }
        return (project, server, process, partialBytes)
    }

    /// The next sync finishes the job, resuming the big file with a Range request.
    func expectRerunResumes(_ project: Project, _ server: LoopbackServer) throws {
        let rerun = try project.run(["sync"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        expectTreeMatches(project)
        let ranged = server.requests.filter { $0.path == "/ds1/big.fits" && $0.header("Range") != nil }
        #expect(!ranged.isEmpty, "the re-run resumed with a Range request")
        #expect(try project.run(["verify"]).status == 0)
    }

    @Test func aSyncKilledMidTransferCompletesOnTheNextRunWithARange() throws {
        let (project, server, process, partialBytes) = try startSlowSync()
        defer { server.shutdown() }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(partialBytes > 300_000, "the partial file grew before the kill")
        #expect(project.local("big.fits") == nil, "no final path holds partial bytes")
        try expectRerunResumes(project, server)
    }

    @Test func anInterruptedSyncExits130SaysSoOnceAndResumes() throws {
        let (project, server, process, partialBytes) = try startSlowSync()
        defer { server.shutdown() }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(partialBytes > 300_000, "the partial file grew before the interrupt")
        #expect(process.terminationStatus == 130)
        let stderr = try String(contentsOf: project.directory.appendingPathComponent(".stderr"), encoding: .utf8)
        #expect(stderr.contains("warning: interrupted: 1 file was not finished; partial downloads stay in .datapin-partial"), "\(stderr)")
        #expect(!stderr.contains("error:"), "a cancelled file is not an error: \(stderr)")
        #expect(project.local("big.fits") == nil)
        try expectRerunResumes(project, server)
    }
}
