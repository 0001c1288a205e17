import DatapinKit
import Foundation
import Synchronization
import Testing
import TestSupport

/// Hostile or broken servers met by `lock` and `sync` (issue 9): empty catalog answers, remote
/// catalogs naming local files, trickling bodies, compression bombs, HTML pages instead of files.
@Suite struct ReliabilityTransferTests {
    typealias Project = SyncCommandTests.Project

    /// A switch a test flips while the server runs.
    final class Toggle: Sendable {
        private let state = Mutex(false)
        var isOn: Bool { state.withLock { $0 } }
        func turnOn() { state.withLock { $0 = true } }
    }

    static func lockText(_ project: Project) -> Data? {
        FileManager.default.contents(atPath: project.directory.appendingPathComponent("datapin.lock").path)
    }

    static func requests(to path: String, on server: LoopbackServer) -> [LoopbackRequest] {
        server.requests.filter { $0.path == path }
    }

    // MARK: Empty answers (item 4)

    @Test(arguments: ["", "  \n\t\n", #"{"datasets": []}"#, #"{"datasets": [{"id": "ds1", "files": []}]}"#, "# no files\n"])
    func anEmptyCatalogIsAnArchiveErrorAndTheLockStaysByteIdentical(emptyAnswer: String) throws {
        let project = try SyncCommandTests.project(files: SyncCommandTests.small)
        let serve = LoopbackServer.files(root: project.served)
        let empty = Toggle()
        let server = try LoopbackServer { request in
            empty.isOn && request.path == "/catalog.json" ? .text(emptyAnswer, contentType: "application/json") : serve(request)
        }
        defer { server.shutdown() }
        try SyncCommandTests.writeSpec(project, url: server.baseURL)
        let first = try project.run(["lock"])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try #require(Self.lockText(project))

        empty.turnOn()
        for arguments in [["lock"], ["lock", "--update"]] {
            let result = try project.run(arguments)
            #expect(result.status == 6, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("\(server.baseURL)/catalog.json"), "\(result.stderr)")
            #expect(result.stderr.contains("the catalog is empty (it lists no files)"), "\(result.stderr)")
            #expect(Self.lockText(project) == before, "the lock is untouched")
        }
    }

    // MARK: Local files named by a remote catalog (item 6)

    @Test func aCatalogServedOverHTTPCannotNameLocalFilesButALocalCatalogCan() throws {
        let project = try SyncCommandTests.project(files: SyncCommandTests.small)
        let secret = project.directory.appendingPathComponent("local-secret.txt")
        try Data("the secret\n".utf8).write(to: secret)
        func writeCatalog(listing url: String) throws {
            let catalog = try JSONSerialization.data(withJSONObject: ["datasets": [["id": "ds1", "files": [
                ["name": "a_cal.fits", "url": "ds1/a_cal.fits", "size": 40_000],
                ["name": "secret.txt", "url": url],
            ]]]], options: [.sortedKeys])
            try catalog.write(to: project.served.appendingPathComponent("catalog.json"))
        }
        for hostile in [secret.absoluteString, "ftp://127.0.0.1/secret.txt"] {
            try writeCatalog(listing: hostile)
            let server = try LoopbackServer(handler: LoopbackServer.files(root: project.served))
            defer { server.shutdown() }
            try SyncCommandTests.writeSpec(project, url: server.baseURL)

            let result = try project.run(["lock"])
            #expect(result.status == 6, "\(result.stderr)")
            #expect(result.stderr.contains("'ds1/secret.txt' points at \(hostile)"), "\(result.stderr)")
            #expect(result.stderr.contains("only a local catalog may name local files"), "\(result.stderr)")
            #expect(Self.lockText(project) == nil, "no lock is written")
        }

        // The same catalog read from disk may name local files.
        try writeCatalog(listing: secret.absoluteString)
        try SyncCommandTests.writeSpec(project, url: project.served.path)
        let local = try project.run(["lock"])
        #expect(local.status == 0, "\(local.stderr)")
        let lock = try #require(Self.lockText(project))
        #expect(String(decoding: lock, as: UTF8.self).contains("url: \(secret.absoluteString)"))
    }

    // MARK: Stalls (item 7)

    @Test func aTricklingDownloadIsRetriedWithRangeThenReportedAsStalled() throws {
        let data = SyncCommandTests.bytes(20_000, seed: 9)
        let (project, server) = try SyncCommandTests.lockedProject(files: ["slow.fits": data]) { request, _ in
            guard request.path == "/ds1/slow.fits" else { return nil }
            return LoopbackResponse.serving(data, for: request).with(fault: .slow(chunkSize: 1, delayMilliseconds: 200))
        }
        defer { server.shutdown() }

        let result = try project.run(["sync"], environment: ["DATAPIN_STALL_TIMEOUT": "1"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("ds1/slow.fits: the download of \(server.baseURL)/ds1/slow.fits failed: the server stalled"), "\(result.stderr)")
        let tries = Self.requests(to: "/ds1/slow.fits", on: server)
        #expect(tries.count == RetryPolicy.default.maxAttempts, "a stall is retried like other network trouble")
        #expect(tries.dropFirst().contains { $0.header("Range")?.hasPrefix("bytes=") == true && $0.header("Range") != "bytes=0-" }, "retries resume after the bytes that arrived")
        #expect(project.local("slow.fits") == nil)
    }

    @Test func aTricklingCatalogStallsTheLockWithExitSix() throws {
        let project = try SyncCommandTests.project(files: SyncCommandTests.small)
        let serve = LoopbackServer.files(root: project.served)
        let server = try LoopbackServer { request in
            serve(request).with(fault: .slow(chunkSize: 1, delayMilliseconds: 200))
        }
        defer { server.shutdown() }
        try SyncCommandTests.writeSpec(project, url: server.baseURL)

        let result = try project.run(["lock"], environment: ["DATAPIN_STALL_TIMEOUT": "1"])
        #expect(result.status == 6, "\(result.stderr)")
        #expect(result.stderr.contains("\(server.baseURL)/catalog.json"), "\(result.stderr)")
        #expect(result.stderr.contains("the server stalled"), "\(result.stderr)")
        #expect(Self.lockText(project) == nil)
    }

    @Test(arguments: ["0", "soon", "-5"])
    func anUnreadableStallTimeoutIsABadInputError(value: String) throws {
        let project = try SyncCommandTests.project(files: SyncCommandTests.small)
        try SyncCommandTests.writeSpec(project, url: project.served.path)
        let result = try project.run(["lock"], environment: ["DATAPIN_STALL_TIMEOUT": value])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("DATAPIN_STALL_TIMEOUT is '\(value)'"), "\(result.stderr)")
        #expect(Self.lockText(project) == nil)

        #expect(try project.run(["lock"]).status == 0)
        let sync = try project.run(["sync"], environment: ["DATAPIN_STALL_TIMEOUT": value])
        #expect(sync.status == 2, "\(sync.stderr)")
        #expect(sync.stderr.contains("DATAPIN_STALL_TIMEOUT is '\(value)'"), "\(sync.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.data.path))
    }

    // MARK: Answer sizes and compression bombs (item 10)

    @Test func aGzipBombCatalogIsCutOffWithExitSix() throws {
        let project = try SyncCommandTests.project(files: SyncCommandTests.small)
        let bomb = try LoopbackResponse.gzipEncoded(Data(count: 64 << 20))
        #expect(bomb.body.count < 256 << 10)
        let server = try LoopbackServer { _ in bomb }
        defer { server.shutdown() }
        try SyncCommandTests.writeSpec(project, url: server.baseURL)

        let result = try project.run(["lock"])
        #expect(result.status == 6, "\(result.stderr)")
        #expect(result.stderr.contains("the answer from \(server.baseURL)/catalog.json is not what the archive documents: it decompresses to more than 100 times"), "\(result.stderr)")
        #expect(Self.lockText(project) == nil)
    }

    @Test func anAnswerLargerThanTheCapIsRefusedAndTheCapIsSettable() throws {
        let project = try SyncCommandTests.project(files: SyncCommandTests.small)
        let catalog = try Data(contentsOf: project.served.appendingPathComponent("catalog.json")) + Data(repeating: UInt8(ascii: " "), count: 20_000)
        try catalog.write(to: project.served.appendingPathComponent("catalog.json"))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: project.served))
        defer { server.shutdown() }
        try SyncCommandTests.writeSpec(project, url: server.baseURL)

        let capped = try project.run(["lock"], environment: ["DATAPIN_MAX_ANSWER_SIZE": "16KiB"])
        #expect(capped.status == 6, "\(capped.stderr)")
        #expect(capped.stderr.contains("\(server.baseURL)/catalog.json"), "\(capped.stderr)")
        #expect(capped.stderr.contains("it is larger than 16384 bytes"), "\(capped.stderr)")
        #expect(capped.stderr.contains("DATAPIN_MAX_ANSWER_SIZE"), "\(capped.stderr)")
        #expect(Self.lockText(project) == nil)

        let plan = try project.run(["plan"], environment: ["DATAPIN_MAX_ANSWER_SIZE": "16KiB"])
        #expect(plan.status == 6, "\(plan.stderr)")

        let unreadable = try project.run(["lock"], environment: ["DATAPIN_MAX_ANSWER_SIZE": "lots"])
        #expect(unreadable.status == 2, "\(unreadable.stderr)")
        #expect(unreadable.stderr.contains("DATAPIN_MAX_ANSWER_SIZE is 'lots', which is not a size such as 512MiB or a number of bytes"), "\(unreadable.stderr)")

        let raised = try project.run(["lock"], environment: ["DATAPIN_MAX_ANSWER_SIZE": "1MiB"])
        #expect(raised.status == 0, "\(raised.stderr)")
    }

    @Test func aCompressedDownloadNeverGrowsPastItsLockedSize() throws {
        let bomb = try LoopbackResponse.gzipEncoded(Data(count: 64 << 20), contentType: "application/octet-stream")
        let (project, server) = try SyncCommandTests.lockedProject(files: SyncCommandTests.small) { request, _ in
            request.path == "/ds1/a_cal.fits" ? bomb : nil
        }
        defer { server.shutdown() }

        let result = try project.run(["sync"])
        #expect(result.status == 4, "\(result.stderr)")
        #expect(result.stderr.contains("ds1/a_cal.fits: the download has "), "\(result.stderr)")
        #expect(result.stderr.contains(" bytes but the lock expects 40000"), "\(result.stderr)")
        let partials = (try? FileManager.default.contentsOfDirectory(atPath: project.data.appendingPathComponent(".datapin-partial").path)) ?? []
        #expect(partials.isEmpty, "the partial never held more than the locked size and was removed: \(partials)")
        #expect(project.local("a_cal.fits") == nil)
        #expect(project.local("b_cal.fits") == project.files["b_cal.fits"])
    }

    // MARK: HTML pages instead of files (item 13)

    @Test(arguments: [
        LoopbackResponse.htmlPage(),
        LoopbackResponse.ok(Data("\n<html><body>Internal error</body></html>\n".utf8)),
        LoopbackResponse.htmlPage("<?xml version=\"1.0\"?>\n<p>Please sign in</p>"),
    ])
    func anHTMLPageInsteadOfAFileFailsAtOnceWithExitThree(page: LoopbackResponse) throws {
        let (project, server) = try SyncCommandTests.lockedProject(files: SyncCommandTests.small) { request, _ in
            request.path == "/ds1/a_cal.fits" ? page : nil
        }
        defer { server.shutdown() }

        let result = try project.run(["sync"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("ds1/a_cal.fits: cannot download \(server.baseURL)/ds1/a_cal.fits: the server sent an HTML page (a login or error page?) instead of a_cal.fits"), "\(result.stderr)")
        #expect(Self.requests(to: "/ds1/a_cal.fits", on: server).count == 1, "a page that will not change is not fetched again")
        #expect(project.local("a_cal.fits") == nil)
        #expect(project.local("b_cal.fits") == project.files["b_cal.fits"])
    }

    @Test func anHTMLFileTheLockNamesIsDownloadedAsAnyOther() throws {
        let page = Data("<!DOCTYPE html>\n<html><body>Observing notes</body></html>\n".utf8)
        let (project, server) = try SyncCommandTests.lockedProject(files: ["notes.html": page]) { request, _ in
            request.path == "/ds1/notes.html" ? LoopbackResponse(status: 200, headers: [("Content-Type", "text/html")], body: page) : nil
        }
        defer { server.shutdown() }

        let result = try project.run(["sync"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(project.local("notes.html") == page)
    }
}
