import Foundation
import Testing
import TestSupport
import DatapinKit
@testable import DatapinLock
@testable import DatapinSpec
@testable import DatapinSync

/// `SyncRun` called in-process, as a command calls it, against a loopback HTTP server.
@Suite struct SyncRunTests {
    static let spec = Spec(file: "datapin.yaml")

    static func entry(_ path: String, _ content: String, server: LoopbackServer) -> LockEntry {
        LockEntry(path: path, archive: "lab", dataset: "d1", uri: "lab:\(path)", url: "\(server.baseURL)/\(path)",
                  size: Int64(content.utf8.count), sha256: SyncScratch.sha256(content))
    }

    static func paths(_ scratch: SyncScratch) -> ProjectPaths {
        ProjectPaths(directory: scratch.root.path, specFile: nil)
    }

    /// Serves `files` (path → content) and answers 404 for anything else.
    static func server(_ files: [String: String]) throws -> LoopbackServer {
        try LoopbackServer { request in
            guard let content = files[String(request.path.dropFirst())] else { return .status(404) }
            return .ok(Data(content.utf8))
        }
    }

    /// Runs `/usr/bin/flock -n <file> true`: 0 when the lock is free, 1 when someone holds it.
    static func tryLockFromAnotherProcess(_ url: URL) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        process.arguments = ["-n", url.path, "true"]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func aFailedTransferEndsWithExitThreeAndTheSyncLockFree() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let server = try Self.server(["a.fits": "aaaa"])
        defer { server.shutdown() }
        let lock = Lockfile(specDigest: Self.spec.meaningDigest, files: [Self.entry("a.fits", "aaaa", server: server), Self.entry("b.fits", "bbbb", server: server)])
        let run = SyncRun(options: SyncRun.Options(jobs: 2), lock: lock, tree: scratch.tree, spec: Self.spec, paths: Self.paths(scratch)) { DownloadSource(url: $0.url) }
        var notices: [String] = []
        let outcome = run.run(notify: { notice in if case .info(let text) = notice { notices.append(text) } })

        #expect(outcome.status == .transferFailed)
        guard case .synced(let report) = outcome.result else {
            Issue.record("the transfers ran: \(outcome.result)")
            return
        }
        #expect(report.placed == ["a.fits"])
        #expect(outcome.diagnostics.map(\.severity) == [.error])
        #expect(outcome.diagnostics.first?.message.hasPrefix("b.fits: ") == true, "\(outcome.diagnostics)")
        #expect(outcome.summary?.filesPlaced == 1)
        #expect(outcome.summary?.failed == 1)
        #expect(outcome.messages.count == 1 && outcome.messages[0].hasPrefix("Synced 1 file (") && outcome.messages[0].hasSuffix(", 1 failed"), "\(outcome.messages)")
        #expect(notices.isEmpty, "no other sync held the lock: \(notices)")
        #expect(try Self.tryLockFromAnotherProcess(scratch.tree.stateDirectory.appendingPathComponent(SyncLock.fileName)) == 0,
                "the sync lock is released when the run returns, before any exit")
    }

    @Test func anEventConsumerThatDoesNotReturnNeverHoldsUpTheTransfers() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let contents = Dictionary(uniqueKeysWithValues: (0..<40).map { ("f\($0).fits", String(repeating: "x", count: 1000 + $0)) })
        let server = try Self.server(contents)
        defer { server.shutdown() }
        let lock = Lockfile(specDigest: Self.spec.meaningDigest, files: contents.keys.sorted().map { Self.entry($0, contents[$0]!, server: server) })
        let run = SyncRun(options: SyncRun.Options(jobs: 4), lock: lock, tree: scratch.tree, spec: Self.spec, paths: Self.paths(scratch)) { DownloadSource(url: $0.url) }
        let gate = DispatchSemaphore(value: 0)
        let finishedEvents = LockedBox(0)
        let blocked = LockedBox(false)
        let outcome = LockedBox<SyncOutcome?>(nil)
        let thread = Thread {
            let result = run.run(events: { event in
                if !blocked.get() {
                    blocked.set(true)
                    gate.wait()
                }
                if case .transferFinished = event { finishedEvents.set(finishedEvents.get() + 1) }
            })
            outcome.set(result)
        }
        thread.start()

        // The consumer is stuck on its first event; every file still lands.
        let deadline = Date().addingTimeInterval(30)
        func allPlaced() -> Bool { contents.keys.allSatisfy { FileManager.default.fileExists(atPath: scratch.tree.finalURL(for: $0).path) } }
        while Date() < deadline && !allPlaced() { usleep(20_000) }
        #expect(allPlaced(), "every transfer finished while the event consumer was blocked")
        #expect(blocked.get() && finishedEvents.get() == 0, "the consumer was still blocked on its first event")
        #expect(outcome.get() == nil, "the run waits for its events to be delivered")

        gate.signal()
        let end = Date().addingTimeInterval(30)
        while Date() < end && outcome.get() == nil { usleep(20_000) }
        #expect(outcome.get()?.status == .ok)
        #expect(finishedEvents.get() == 40, "every event is delivered once the consumer moves again")
    }

    @Test func progressIsCoalescedWhileTheConsumerIsBusy() throws {
        let gate = DispatchSemaphore(value: 0)
        let received = LockedBox<[SyncEvent]>([])
        let relay = SyncEventRelay { event in
            if received.get().isEmpty { gate.wait() }
            received.set(received.get() + [event])
        }
        relay.send(.pruned(path: "first", size: 1))
        for bytes in 0..<10_000 { relay.send(.transferProgress(path: "a.fits", bytes: Int64(bytes), total: 10_000)) }
        relay.send(.pruned(path: "last", size: 1))
        gate.signal()
        relay.finish()
        let events = received.get()
        #expect(events.count <= 4, "10,000 progress events for one file were coalesced: \(events.count) delivered")
        guard case .pruned(let last, _)? = events.last, case .transferProgress(_, let bytes, _)? = events.dropLast().last else {
            Issue.record("events in order, the latest progress before the last event: \(events)")
            return
        }
        #expect(last == "last")
        #expect(bytes == 9_999)
    }

    @Test func aLockedPathAtAProtectedFileIsRefusedBeforeAnythingIsFetched() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let server = try Self.server(["pin.yaml": "overwritten", "a.fits": "aaaa"])
        defer { server.shutdown() }
        var tree = scratch.tree
        tree.protectedPaths = [tree.destination.appendingPathComponent("pin.yaml"), tree.destination.appendingPathComponent("catalogs")]
        let lock = Lockfile(specDigest: Self.spec.meaningDigest, files: [Self.entry("a.fits", "aaaa", server: server), Self.entry("pin.yaml", "overwritten", server: server), Self.entry("catalogs/SHA256SUMS", "aaaa", server: server)])
        let outcome = SyncRun(options: SyncRun.Options(), lock: lock, tree: tree, spec: Self.spec, paths: Self.paths(scratch)) { DownloadSource(url: $0.url) }.run()

        #expect(outcome.status == .badInput)
        guard case .refused = outcome.result else {
            Issue.record("refused: \(outcome.result)")
            return
        }
        #expect(outcome.diagnostics.count == 2)
        #expect(outcome.diagnostics.contains { $0.message.contains("places 'pin.yaml' in the destination, where 'pin.yaml' is one of the project's own files") }, "\(outcome.diagnostics)")
        #expect(outcome.diagnostics.contains { $0.message.contains("places 'catalogs/SHA256SUMS' in the destination, where 'catalogs' is one of the project's own files") }, "\(outcome.diagnostics)")
        #expect(server.requests.isEmpty, "nothing was fetched")
    }
}

/// `StatusRun` and `VerifyRun` called in-process: their findings and exit statuses.
@Suite struct TreeCheckRunTests {
    @Test func statusExitsOneUnderCheckOnlyWhenTheTreeDiffersAndWarnsOfAStaleLock() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let spec = Spec(file: "datapin.yaml")
        let paths = ProjectPaths(directory: scratch.root.path, specFile: nil)
        try scratch.write("a.fits", "aaaa")
        let clean = Lockfile(specDigest: spec.meaningDigest, files: [SyncScratch.entry("a.fits", "aaaa")])
        let checked = StatusRun(lock: clean, tree: scratch.tree, spec: spec, paths: paths, check: true).run()
        #expect(checked.exitStatus == .ok)
        #expect(checked.status.clean == 1 && checked.diagnostics.isEmpty)

        try scratch.write("notes.txt", "mine")
        let stale = Lockfile(specDigest: "other", files: clean.files)
        #expect(StatusRun(lock: stale, tree: scratch.tree, spec: spec, paths: paths, check: false).run().exitStatus == .ok, "without --check a difference is not a failure")
        let differs = StatusRun(lock: stale, tree: scratch.tree, spec: spec, paths: paths, check: true).run()
        #expect(differs.exitStatus == .different)
        #expect(differs.status.extra == ["notes.txt"])
        #expect(differs.diagnostics.map(\.message) == ["\(paths.lockDisplayName) is stale against \(paths.specDisplayName); run `datapin lock`"])
    }

    @Test func verifyExitsOneNamingEachFileThatDiffers() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try scratch.write("a.fits", "aaaa")
        try scratch.write("b.fits", "bbbx")
        try scratch.write("c.fits", "cccc")
        let lock = Lockfile(specDigest: "x", files: [SyncScratch.entry("a.fits", "aaaa"), SyncScratch.entry("b.fits", "bbbb"), SyncScratch.entry("c.fits", "cccc", pinned: false)])
        let outcome = VerifyRun(lock: lock, tree: scratch.tree).run()
        #expect(outcome.exitStatus == .different)
        #expect(outcome.checked == 3)
        #expect(outcome.problems.map(\.path) == ["b.fits"])
        #expect(outcome.unpinned == ["c.fits"])
        #expect(VerifyRun(lock: Lockfile(specDigest: "x", files: [lock.files[0]]), tree: scratch.tree).run().exitStatus == .ok)
    }
}
