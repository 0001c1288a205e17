import DatapinKit
@testable import DatapinSupport
@testable import DatapinTransfer
import Foundation
import Testing
import TestSupport

/// A scratch tree for one test: sources under `src/`, the destination root under `dest/`.
private struct Scratch {
    let base: URL
    var root: String { base.appendingPathComponent("dest").path }
    var sources: URL { base.appendingPathComponent("src") }

    init() throws {
        base = try TestEnvironment.makeScratchDirectory("transfer")
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: base) }

    func partialPath(_ name: String) -> String { root + "/.datapin-partial/" + name }
    func finalPath(_ name: String) -> String { root + "/" + name }

    @discardableResult
    func writeSource(_ name: String, _ data: Data) throws -> URL {
        let url = sources.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        return url
    }

    func writePartial(_ name: String, _ data: Data) throws {
        let url = URL(fileURLWithPath: partialPath(name))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    func request(_ id: Int, url: String, name: String, content: Data? = nil, headers: [String: String] = [:], credentialHosts: Set<String> = []) -> TransferRequest {
        TransferRequest(id: id, url: url, headers: headers, credentialHosts: credentialHosts, rootPath: root, partialPath: partialPath(name), finalPath: finalPath(name), expectedSize: content.map { Int64($0.count) }, expectedSHA256: content.map { TestDigest.hex(.sha256, of: $0) })
    }

    func placed(_ name: String) -> Data? { FileManager.default.contents(atPath: finalPath(name)) }
    func partialExists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: partialPath(name)) }
}

/// Deterministic test bytes.
private func content(_ count: Int, seed: Int = 7) -> Data {
    Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &+ ($0 >> 8)) })
}

/// Counts requests per path, for handlers that answer differently on later tries.
private final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    /// 1 for the first request to `path`, 2 for the second, …
    func next(_ path: String) -> Int {
        lock.withLock {
            counts[path, default: 0] += 1
            return counts[path]!
        }
    }
}

/// When requests reached a server.
private final class ArrivalLog: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [Date] = []
    func record() { lock.withLock { times.append(Date()) } }
    var count: Int { lock.withLock { times.count } }
    /// Seconds between the first and the last arrival.
    var spread: TimeInterval { lock.withLock { (times.max() ?? Date()).timeIntervalSince(times.min() ?? Date()) } }
}

/// Collects events from the transfer thread.
private final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [TransferEvent] = []
    func append(_ event: TransferEvent) { lock.withLock { log.append(event) } }
    var events: [TransferEvent] { lock.withLock { log } }
}

private let fastRetry = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05)

private func failure(of result: TransferResult?) -> TransferFailure? {
    guard case .failed(let failure)? = result?.outcome else { return nil }
    return failure
}

@Suite("TransferEngine")
struct TransferEngineTests {
    @Test func placesManyFilesInParallelOverHTTPWithVerifiedContent() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let files = (0..<24).map { ("dir\($0 % 3)/file\($0).bin", content(1000 + $0 * 997, seed: $0)) }
        for (name, data) in files { try scratch.writeSource(name, data) }
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }
        let log = EventLog()

        let requests = files.enumerated().map { scratch.request($0.offset, url: "\(server.baseURL)/\($0.element.0)", name: $0.element.0, content: $0.element.1) }
        let results = TransferEngine(maxConcurrent: 4, retry: fastRetry).runBlocking(requests) { log.append($0) }

        #expect(results.map(\.id) == Array(0..<files.count))
        for (index, (name, data)) in files.enumerated() {
            #expect(results[index].outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: Int64(data.count)))
            #expect(results[index].attempts == 1)
            #expect(scratch.placed(name) == data)
            #expect(!scratch.partialExists(name))
        }
        let events = log.events
        #expect(events.filter { if case .started = $0 { return true } else { return false } }.count == files.count)
        #expect(events.filter { if case .finished = $0 { return true } else { return false } }.count == files.count)
    }

    @Test func transfersToOneHTTPHostRunAtTheSameTime() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(40_000)
        let arrivals = ArrivalLog()
        // Each body takes about a second to send; four downloads one after another would
        // reach the server over about three seconds.
        let server = try LoopbackServer { _ in
            arrivals.record()
            return LoopbackResponse(status: 200, body: data, fault: .slow(chunkSize: 4_000, delayMilliseconds: 100))
        }
        defer { server.shutdown() }
        let names = (0..<4).map { "slow\($0).bin" }
        let requests = names.enumerated().map { scratch.request($0.offset, url: "\(server.baseURL)/\($0.element)", name: $0.element, content: data) }
        let results = TransferEngine(maxConcurrent: 4, maxPerHost: 4, retry: fastRetry).runBlocking(requests) { _ in }

        #expect(results.allSatisfy { $0.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: Int64(data.count)) })
        #expect(arrivals.count == 4)
        #expect(arrivals.spread < 0.5, "all four requests reach the server before the first body is done: \(arrivals.spread) s apart")
    }

    @Test func placesFileURLsAndReportsTheObservedDigestWithoutExpectations() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(300_000)
        let source = try scratch.writeSource("a b.fits", data)
        var request = scratch.request(1, url: source.absoluteString, name: "out/a b.fits")
        request.expectedSize = nil

        let results = await TransferEngine().run([request]) { _ in }

        #expect(results.first?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: Int64(data.count)))
        #expect(scratch.placed("out/a b.fits") == data)
    }

    @Test func aMissingFileURLFailsWithoutRetrying() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let request = scratch.request(1, url: scratch.sources.appendingPathComponent("missing").absoluteString, name: "missing")

        let result = TransferEngine(retry: fastRetry).runBlocking([request]) { _ in }.first

        guard case .sourceError? = failure(of: result) else { Issue.record("expected a source error, got \(String(describing: result))"); return }
        #expect(result?.attempts == 1)
        #expect(!scratch.partialExists("missing"))
    }

    enum Mismatch: String, CaseIterable { case size, sha256, blake2b }

    @Test(arguments: Mismatch.allCases)
    func aMismatchIsNeverPlacedAndThePartialIsRemoved(mismatch: Mismatch) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(5000)
        try scratch.writeSource("f", data)
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }
        var request = scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)
        switch mismatch {
        case .size: request.expectedSize = 4999
        case .sha256: request.expectedSHA256 = String(repeating: "0", count: 64)
        case .blake2b: request.checksum = Checksum(algorithm: "blake2b", hex: String(repeating: "ab", count: 64))
        }

        let result = TransferEngine(retry: fastRetry).runBlocking([request]) { _ in }.first

        switch (mismatch, failure(of: result)) {
        case (.size, .sizeMismatch(let expected, let actual)?):
            #expect(expected == 4999 && actual == 5000)
        case (.sha256, .digestMismatch(let algorithm, _, let actual)?):
            #expect(algorithm == "sha256" && actual == TestDigest.hex(.sha256, of: data))
        case (.blake2b, .digestMismatch(let algorithm, _, let actual)?):
            #expect(algorithm == "blake2b" && actual == TestDigest.hex(.blake2b, of: data))
        default:
            Issue.record("unexpected result \(String(describing: result))")
        }
        #expect(scratch.placed("f") == nil)
        #expect(!scratch.partialExists("f"))
        #expect(server.requests.count == 1)
    }

    @Test func aMatchingBlake2bChecksumIsVerifiedAndPlaced() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(70_000)
        let source = try scratch.writeSource("f", data)
        var request = scratch.request(1, url: source.absoluteString, name: "f")
        request.checksum = Checksum(algorithm: "BLAKE2b", hex: TestDigest.hex(.blake2b, of: data))

        let result = TransferEngine().runBlocking([request]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 70_000))
        #expect(scratch.placed("f") == data)
    }

    @Test(arguments: [500, 503, 408])
    func aTransientStatusIsRetried(status: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(4000)
        let counter = RequestCounter()
        let server = try LoopbackServer { request in
            counter.next(request.path) == 1 ? .status(status, body: "busy") : .ok(data)
        }
        defer { server.shutdown() }
        let log = EventLog()

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { log.append($0) }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 4000))
        #expect(result?.attempts == 2)
        #expect(scratch.placed("f") == data)
        #expect(log.events.contains { if case .retrying(1, 1, .httpStatus(_, status), _) = $0 { return true } else { return false } })
    }

    @Test func retriesStopAfterMaxAttempts() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try LoopbackServer { _ in .status(502) }
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f")]) { _ in }.first

        #expect(failure(of: result) == .httpStatus(url: "\(server.baseURL)/f", status: 502))
        #expect(result?.attempts == 3)
        #expect(server.requests.count == 3)
        #expect(!scratch.partialExists("f"))
    }

    @Test func retryAfterIsHonoured() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(100)
        let counter = RequestCounter()
        let server = try LoopbackServer { request in
            counter.next(request.path) == 1 ? .status(429, headers: [("Retry-After", "1")]) : .ok(data)
        }
        defer { server.shutdown() }
        let log = EventLog()

        let started = Date()
        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { log.append($0) }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 100))
        #expect(server.requests.count == 2)
        #expect(Date().timeIntervalSince(started) >= 0.9)
        #expect(log.events.contains { if case .retrying(1, 1, .httpStatus(_, 429), 1) = $0 { return true } else { return false } })
    }

    @Test(arguments: [404, 410, 400])
    func aPermanentStatusIsNotRetried(status: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try LoopbackServer { _ in .status(status, body: "gone") }
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f")]) { _ in }.first

        #expect(failure(of: result) == .httpStatus(url: "\(server.baseURL)/f", status: status))
        #expect(failure(of: result)?.isRetryable == false)
        #expect(result?.attempts == 1)
        #expect(server.requests.count == 1)
        #expect(!scratch.partialExists("f"))
    }

    @Test(arguments: [401, 403])
    func refusedCredentialsAreUnauthorized(status: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try LoopbackServer { _ in .status(status) }
        defer { server.shutdown() }
        let url = "http://user:secret@127.0.0.1:\(server.port)/f"

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: url, name: "f")]) { _ in }.first

        let refusal = try #require(failure(of: result))
        #expect(refusal == .unauthorized(url: "\(server.baseURL)/f", status: status))
        #expect(!refusal.message.contains("secret"))
        #expect(server.requests.count == 1)
    }

    @Test func aTruncatedBodyIsResumedWithRange() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(50_000)
        try scratch.writeSource("f", data)
        let counter = RequestCounter()
        let files = LoopbackServer.files(root: scratch.sources)
        let server = try LoopbackServer { request in
            let response = files(request)
            return counter.next(request.path) == 1 ? response.with(fault: .truncateAfter(bytes: 20_000)) : response
        }
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 50_000))
        #expect(result?.resumedFrom == 20_000)
        #expect(result?.attempts == 2)
        #expect(result?.bytesTransferred == 50_000)
        #expect(server.requests.map { $0.header("Range") } == [nil, "bytes=20000-"])
        #expect(scratch.placed("f") == data)
    }

    @Test func aResetMidBodyIsRetriedAndResumesFromWhatArrived() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(200_000)
        try scratch.writeSource("f", data)
        let counter = RequestCounter()
        let files = LoopbackServer.files(root: scratch.sources)
        let server = try LoopbackServer { request in
            let response = files(request)
            return counter.next(request.path) == 1 ? response.with(fault: .resetAfter(bytes: 100_000)) : response
        }
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 200_000))
        #expect(result?.attempts == 2)
        #expect(scratch.placed("f") == data)
        // A reset may drop bytes the client had not read yet, so the offset is whatever arrived.
        let range = server.requests.last?.header("Range")
        if let resumedFrom = result?.resumedFrom {
            #expect(range == "bytes=\(resumedFrom)-")
            #expect(resumedFrom <= 100_000)
        } else {
            #expect(range == nil)
        }
    }

    @Test func aPartialFromAnEarlierRunIsHashedAndResumed() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(80_000)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", data.prefix(30_000))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 80_000))
        #expect(result?.resumedFrom == 30_000)
        #expect(result?.bytesTransferred == 50_000)
        #expect(server.requests.map { $0.header("Range") } == ["bytes=30000-"])
    }

    @Test func aServerIgnoringRangeMakesTheDownloadStartOver() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(40_000)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", Data(repeating: 0xEE, count: 10_000))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources, honourRange: false))
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 40_000))
        #expect(result?.resumedFrom == nil)
        #expect(result?.attempts == 1)
        #expect(server.requests.map { $0.header("Range") } == ["bytes=10000-"])
        #expect(scratch.placed("f") == data)
    }

    @Test func a416DiscardsThePartialAndStartsOverWithoutRange() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(1000)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", content(3000))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }
        // Without a locked size, only the server can say that the partial is too long.
        let unsized = scratch.request(1, url: "\(server.baseURL)/f", name: "f")

        let result = TransferEngine(retry: fastRetry).runBlocking([unsized]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 1000))
        #expect(result?.resumedFrom == nil)
        #expect(server.requests.map { $0.header("Range") } == ["bytes=3000-", nil])
        #expect(scratch.placed("f") == data)
    }

    @Test func aPartialHoldingTheWholeLockedFileIsVerifiedAndPlacedWithoutARequest() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(4000)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", data)
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }
        let log = EventLog()

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { log.append($0) }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 4000))
        #expect(result?.resumedFrom == 4000)
        #expect(result?.bytesTransferred == 0)
        #expect(server.requests.isEmpty)
        #expect(!log.events.contains { if case .retrying = $0 { return true } else { return false } })
        #expect(scratch.placed("f") == data)
        #expect(!scratch.partialExists("f"))
    }

    @Test func aWholeSizedPartialWithOtherBytesIsNeverPlacedAndIsFetchedAgain() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(4000)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", content(4000, seed: 99))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 4000))
        #expect(server.requests.map { $0.header("Range") } == [nil])
        #expect(scratch.placed("f") == data)
    }

    @Test func aPartialLongerThanTheLockedSizeIsDiscardedWithoutARangeRequest() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(1000)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", content(3000))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 1000))
        #expect(result?.resumedFrom == nil)
        #expect(result?.attempts == 1)
        #expect(server.requests.map { $0.header("Range") } == [nil])
        #expect(scratch.placed("f") == data)
    }

    @Test func a416SayingTheFileEndsWhereAnUnsizedPartialEndsPlacesThePartial() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(2500)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", data)
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }
        let log = EventLog()

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f")]) { log.append($0) }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 2500))
        #expect(result?.attempts == 1)
        #expect(server.requests.map { $0.header("Range") } == ["bytes=2500-"])
        #expect(!log.events.contains { if case .retrying = $0 { return true } else { return false } })
        #expect(scratch.placed("f") == data)
    }

    @Test func aResumedDownloadThatMismatchesGetsOneFreshRetry() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(20_000)
        try scratch.writeSource("f", data)
        try scratch.writePartial("f", Data(repeating: 0x11, count: 5000))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: scratch.sources))
        defer { server.shutdown() }
        let log = EventLog()

        let result = TransferEngine(retry: fastRetry).runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { log.append($0) }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 20_000))
        #expect(server.requests.map { $0.header("Range") } == ["bytes=5000-", nil])
        #expect(log.events.contains { if case .retrying(1, 1, .digestMismatch, 0) = $0 { return true } else { return false } })
        #expect(scratch.placed("f") == data)
    }

    @Test func authorizationGoesOnlyToCredentialHosts() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(10)
        let server = try LoopbackServer { _ in .ok(data) }
        defer { server.shutdown() }
        let headers = ["Authorization": "Bearer token-123", "X-Trace": "1"]
        let requests = [
            scratch.request(1, url: "\(server.baseURL)/trusted", name: "trusted", headers: headers, credentialHosts: ["127.0.0.1"]),
            scratch.request(2, url: "\(server.baseURL)/other", name: "other", headers: headers, credentialHosts: ["archive.example.org"]),
        ]

        let results = TransferEngine(maxConcurrent: 1, retry: fastRetry).runBlocking(requests) { _ in }

        #expect(results.allSatisfy { if case .placed = $0.outcome { return true } else { return false } })
        let byPath = Dictionary(server.requests.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byPath["/trusted"]?.header("Authorization") == "Bearer token-123")
        #expect(byPath["/other"]?.header("Authorization") == nil)
        #expect(byPath["/other"]?.header("X-Trace") == "1")
        #expect(byPath["/trusted"]?.header("User-Agent") == Curl.userAgent)
    }

    @Test func authorizationIsNotForwardedAcrossACrossHostRedirect() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(2000)
        let target = try LoopbackServer { _ in .ok(data) }
        defer { target.shutdown() }
        let origin = try LoopbackServer { _ in .redirect(to: "http://localhost:\(target.port)/file") }
        defer { origin.shutdown() }
        let request = scratch.request(1, url: "\(origin.baseURL)/file", name: "f", content: data, headers: ["Authorization": "Bearer token-123"], credentialHosts: ["127.0.0.1"])

        let result = TransferEngine(retry: fastRetry).runBlocking([request]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 2000))
        #expect(origin.requests.first?.header("Authorization") == "Bearer token-123")
        #expect(target.requests.count == 1)
        #expect(target.requests.first?.header("Authorization") == nil)
    }

    @Test func netrcCredentialsAreUsedForTheirMachine() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try LoopbackServer { _ in .ok(Data("x".utf8)) }
        defer { server.shutdown() }
        let netrc = scratch.base.appendingPathComponent("netrc")
        try "machine 127.0.0.1 login alice password wonderland\n".write(to: netrc, atomically: true, encoding: .utf8)
        let engine = TransferEngine(maxConcurrent: 1, maxPerHost: 1, retry: fastRetry, stallSeconds: 60, netrcFile: netrc.path)

        _ = engine.runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f")]) { _ in }

        #expect(server.requests.first?.header("Authorization") == "Basic " + Data("alice:wonderland".utf8).base64EncodedString())
    }

    @Test func aFileWhereAFolderShouldBeIsAClearLocalFailure() throws {
        // Tests run as root, which ignores permission bits; a regular file standing where a
        // folder must be forces the same kind of local write failure.
        let scratch = try Scratch()
        defer { scratch.remove() }
        let source = try scratch.writeSource("f", content(100))
        try FileManager.default.createDirectory(atPath: scratch.root, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: scratch.root + "/blocker"))
        var finalBlocked = scratch.request(1, url: source.absoluteString, name: "blocker/f")
        finalBlocked.partialPath = scratch.partialPath("f")
        let partialBlocked = TransferRequest(id: 2, url: source.absoluteString, rootPath: scratch.root, partialPath: scratch.root + "/blocker/partial", finalPath: scratch.finalPath("g"))

        let results = TransferEngine(retry: fastRetry).runBlocking([finalBlocked, partialBlocked]) { _ in }

        for result in results {
            let problem = try #require(failure(of: result))
            #expect(problem == .fileSystem(path: scratch.root + "/blocker", reason: "it is a file, not a folder"))
            #expect(!problem.isRetryable)
            #expect(result.attempts == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.finalPath("g")))
    }

    @Test func aSymbolicLinkOnTheWayToTheFinalPathIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let source = try scratch.writeSource("f", content(100))
        try FileManager.default.createDirectory(atPath: scratch.root, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.root + "/link", withDestinationPath: scratch.base.path)

        let result = TransferEngine().runBlocking([scratch.request(1, url: source.absoluteString, name: "link/f")]) { _ in }.first

        #expect(failure(of: result) == .unsafePath(path: scratch.root + "/link"))
        #expect(!FileManager.default.fileExists(atPath: scratch.base.path + "/f"))
    }

    @Test(arguments: [(ENOSPC, TransferFailure.diskFull(path: "/p")), (EDQUOT, .diskFull(path: "/p")), (EACCES, .permissionDenied(path: "/p")), (EROFS, .permissionDenied(path: "/p"))])
    func localErrorsHaveClearFailures(code: Int32, expected: TransferFailure) {
        let failure = TransferFailure.fromErrno(code, path: "/p")
        #expect(failure == expected)
        #expect(!failure.isRetryable)
        #expect(failure.message.contains("/p"))
    }

    @Test func cancelStopsPromptlyAndKeepsThePartialForResume() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(400_000)
        let server = try LoopbackServer { _ in LoopbackResponse.ok(data).with(fault: .slow(chunkSize: 20_000, delayMilliseconds: 100)) }
        defer { server.shutdown() }
        let engine = TransferEngine(retry: fastRetry)
        let started = Date()

        let result = engine.runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { event in
            if case .progress = event { engine.cancel() }
        }.first

        #expect(failure(of: result) == .cancelled)
        #expect(Date().timeIntervalSince(started) < 1.5)
        #expect(scratch.placed("f") == nil)
        let partial = try #require(FileManager.default.contents(atPath: scratch.partialPath("f")))
        #expect(!partial.isEmpty && data.starts(with: partial))
    }

    @Test func aLongerBodyThanExpectedIsAbortedEarly() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(2_000_000)
        let server = try LoopbackServer { _ in LoopbackResponse.ok(data).with(fault: .slow(chunkSize: 100_000, delayMilliseconds: 20)) }
        defer { server.shutdown() }
        var request = scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)
        request.expectedSize = 150_000

        let result = TransferEngine(retry: fastRetry).runBlocking([request]) { _ in }.first

        guard case .sizeMismatch(150_000, let actual)? = failure(of: result) else { Issue.record("expected a size mismatch, got \(String(describing: result))"); return }
        #expect(actual > 150_000 && actual < 2_000_000)
        #expect(result?.bytesTransferred ?? 0 < 2_000_000)
        #expect(!scratch.partialExists("f"))
    }

    @Test func aRunAfterCancelEndsAtOnce() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let source = try scratch.writeSource("f", content(10))
        let engine = TransferEngine()
        engine.cancel()

        let results = engine.runBlocking([scratch.request(1, url: source.absoluteString, name: "f")]) { _ in }

        #expect(results.map(\.outcome) == [.failed(.cancelled)])
        #expect(results.first?.attempts == 0)
        #expect(scratch.placed("f") == nil)
    }

    @Test func progressEventsReportBytesOnDisk() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(100_000)
        let server = try LoopbackServer { _ in LoopbackResponse.ok(data).with(fault: .slow(chunkSize: 25_000, delayMilliseconds: 150)) }
        defer { server.shutdown() }
        let log = EventLog()

        _ = TransferEngine().runBlocking([scratch.request(1, url: "\(server.baseURL)/f", name: "f", content: data)]) { log.append($0) }

        let progress = log.events.compactMap { event -> Int64? in
            if case .progress(1, let bytes, 100_000) = event { return bytes } else { return nil }
        }
        #expect(progress.count >= 2)
        #expect(progress == progress.sorted())
        #expect(progress.allSatisfy { $0 > 0 && $0 <= 100_000 })
    }
}

/// A credential source the test controls: each ask may hand out a new token, a refusal can be
/// renewable or not, and it can hold askers waiting until released.
private final class ScriptedSource: CredentialSource, @unchecked Sendable {
    private let lock = NSLock()
    private let renews: Bool
    private let newTokenEachAsk: Bool
    private var generation = 1
    private var held: Bool
    private var waiting: [@Sendable () -> Void] = []
    private var failure: CredentialFailure?
    private(set) var asks = 0
    private(set) var refusals: [Int] = []

    init(renews: Bool, newTokenEachAsk: Bool = false, held: Bool = false, failure: CredentialFailure? = nil) {
        self.renews = renews
        self.newTokenEachAsk = newTokenEachAsk
        self.held = held
        self.failure = failure
    }

    func headers(whenReady: @escaping @Sendable () -> Void) -> CredentialAnswer {
        lock.withLock {
            asks += 1
            if let failure { return .failed(failure) }
            if held {
                waiting.append(whenReady)
                return .pending
            }
            defer { if newTokenEachAsk { generation += 1 } }
            return .ready(headers: ["Authorization": "Bearer t\(generation)"], generation: generation)
        }
    }

    func refused(generation refused: Int) -> Bool {
        lock.withLock {
            refusals.append(refused)
            if renews && refused == generation { generation += 1 }
            return renews
        }
    }

    func check() throws(CredentialFailure) {}

    /// Lets waiting askers in: the next ask answers.
    func release() {
        let woken: [@Sendable () -> Void] = lock.withLock {
            held = false
            defer { waiting.removeAll() }
            return waiting
        }
        for wake in woken { wake() }
    }
}

/// The engine asks a request's credential source for headers at every attempt, gets one fresh
/// token after a refusal, and never waits on a source: other transfers go on meanwhile.
@Suite("TransferEngineCredentials")
struct TransferEngineCredentialTests {
    private static func request(_ scratch: Scratch, _ id: Int, url: String, name: String, data: Data, source: any CredentialSource, hosts: Set<String> = ["127.0.0.1"]) -> TransferRequest {
        var request = scratch.request(id, url: url, name: name, content: data, credentialHosts: hosts)
        request.credentials = RequestCredentials(source)
        return request
    }

    @Test func everyAttemptAsksTheSourceForItsHeaders() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(5000)
        let attempts = RequestCounter()
        let server = try LoopbackServer { request in attempts.next(request.path) == 1 ? .status(503) : .serving(data, for: request) }
        defer { server.shutdown() }
        let source = ScriptedSource(renews: false, newTokenEachAsk: true)

        let result = TransferEngine(retry: fastRetry).runBlocking([Self.request(scratch, 1, url: "\(server.baseURL)/f", name: "f", data: data, source: source)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 5000))
        #expect(server.requests.map { $0.header("Authorization") } == ["Bearer t1", "Bearer t2"])
    }

    @Test(arguments: [401, 403])
    func aRefusalGetsOneFreshTokenAndOneRetry(status: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(5000)
        let server = try LoopbackServer { request in request.header("Authorization") == "Bearer t1" ? .status(status) : .serving(data, for: request) }
        defer { server.shutdown() }
        let source = ScriptedSource(renews: true)

        let result = TransferEngine(retry: fastRetry).runBlocking([Self.request(scratch, 1, url: "\(server.baseURL)/f", name: "f", data: data, source: source)]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 5000))
        #expect(result?.attempts == 2)
        #expect(source.refusals == [1])
        #expect(server.requests.map { $0.header("Authorization") } == ["Bearer t1", "Bearer t2"])
    }

    @Test func aSecondRefusalIsReportedWithoutAnotherTry() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try LoopbackServer { _ in .status(401) }
        defer { server.shutdown() }
        let source = ScriptedSource(renews: true)

        let result = TransferEngine(retry: fastRetry).runBlocking([Self.request(scratch, 1, url: "\(server.baseURL)/f", name: "f", data: content(10), source: source)]) { _ in }.first

        #expect(failure(of: result) == .unauthorized(url: "\(server.baseURL)/f", status: 401))
        #expect(server.requests.map { $0.header("Authorization") } == ["Bearer t1", "Bearer t2"])
        #expect(source.refusals == [1])
    }

    @Test func aTokenThatCannotRenewIsNotTriedAgain() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try LoopbackServer { _ in .status(403) }
        defer { server.shutdown() }
        let source = StaticTokenSource(token: "fixed", scheme: "token", variable: "MAST_API_TOKEN")

        let result = TransferEngine(retry: fastRetry).runBlocking([Self.request(scratch, 1, url: "\(server.baseURL)/f", name: "f", data: content(10), source: source)]) { _ in }.first

        #expect(failure(of: result) == .unauthorized(url: "\(server.baseURL)/f", status: 403))
        #expect(server.requests.map { $0.header("Authorization") } == ["token fixed"])
    }

    @Test func aTransferWaitingForATokenHoldsNothingElseUp() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let secret = content(3000, seed: 1), open = content(4000, seed: 2)
        let server = try LoopbackServer { request in .serving(request.path == "/secret" ? secret : open, for: request) }
        defer { server.shutdown() }
        let source = ScriptedSource(renews: false, held: true)
        let log = EventLog()

        // The open file's finishing releases the token: were the loop waiting on the source, it never would.
        let results = TransferEngine(maxConcurrent: 1, retry: fastRetry).runBlocking([
            Self.request(scratch, 1, url: "\(server.baseURL)/secret", name: "secret", data: secret, source: source),
            scratch.request(2, url: "\(server.baseURL)/open", name: "open", content: open),
        ]) { event in
            log.append(event)
            if case .finished(let result) = event, result.id == 2 { DispatchQueue.global().async { source.release() } }
        }

        #expect(results.map(\.outcome) == [.placed(sha256: TestDigest.hex(.sha256, of: secret), size: 3000), .placed(sha256: TestDigest.hex(.sha256, of: open), size: 4000)])
        #expect(server.requests.map(\.path) == ["/open", "/secret"])
        #expect(server.requests.last?.header("Authorization") == "Bearer t1")
    }

    @Test func aSourceWithoutATokenFailsTheFileWithItsSentenceAndKeepsThePartial() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(5000)
        try scratch.writePartial("f", data.prefix(1000))
        let server = try LoopbackServer { .serving(data, for: $0) }
        defer { server.shutdown() }
        let refused = CredentialFailure.grantRefused(usernameVariable: "LAB_USER", passwordVariable: "LAB_PASSWORD", url: "https://auth.example/token", status: 400)
        let source = ScriptedSource(renews: true, failure: refused)

        let result = TransferEngine(retry: fastRetry).runBlocking([Self.request(scratch, 1, url: "\(server.baseURL)/f", name: "f", data: data, source: source)]) { _ in }.first

        #expect(failure(of: result) == .credentials(reason: refused.message))
        #expect(server.requests.isEmpty)
        #expect(scratch.partialExists("f"), "the next run, with the right password, resumes it")
    }

    @Test func aSourceIsNotAskedForAHostThatMayNotSeeItsHeaders() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = content(2000)
        let server = try LoopbackServer { .serving(data, for: $0) }
        defer { server.shutdown() }
        let source = ScriptedSource(renews: true)

        let result = TransferEngine(retry: fastRetry).runBlocking([Self.request(scratch, 1, url: "\(server.baseURL)/f", name: "f", data: data, source: source, hosts: ["archive.example.org"])]) { _ in }.first

        #expect(result?.outcome == .placed(sha256: TestDigest.hex(.sha256, of: data), size: 2000))
        #expect(source.asks == 0)
        #expect(server.requests.first?.header("Authorization") == nil)
    }
}
