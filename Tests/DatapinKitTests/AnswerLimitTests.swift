import DatapinKit
@testable import DatapinTransfer
import Foundation
import Testing
import TestSupport

/// `TransferLimits`: the stall rule, the limit variables, and the caps `HTTPClient` puts on an
/// archive's answer (size and inflation).
@Suite struct AnswerLimitTests {
    static let second: UInt64 = 1_000_000_000

    /// One observation of `bytes` at `now` (the detector is mutated outside `#expect`).
    func observe(_ detector: inout StallDetector, _ bytes: Int64, at now: UInt64) -> Bool {
        detector.hasStalled(bytes: bytes, now: now)
    }

    @Test func fewerThanTheMinimumWithinAWindowIsAStall() {
        var detector = StallDetector(TransferLimits(stallSeconds: 2, minimumBytesPerSecond: 1024))
        let start: UInt64 = 1_000 * Self.second
        #expect(!observe(&detector, 0, at: start), "the first observation starts the window")
        #expect(!observe(&detector, 10, at: start + Self.second), "a window is judged only when it ends")
        #expect(observe(&detector, 2047, at: start + 2 * Self.second), "2047 B in 2 s is under 1 KiB/s")
    }

    @Test func eachWindowIsJudgedOnItsOwnBytes() {
        var detector = StallDetector(TransferLimits(stallSeconds: 2, minimumBytesPerSecond: 1024))
        let start: UInt64 = 5 * Self.second
        #expect(!observe(&detector, 100, at: start))
        #expect(!observe(&detector, 100 + 2048, at: start + 2 * Self.second), "2048 B in 2 s is enough")
        #expect(!observe(&detector, 100 + 3000, at: start + 3 * Self.second))
        #expect(observe(&detector, 100 + 4000, at: start + 4 * Self.second), "the second window got 1952 B only")
    }

    @Test func aResetStartsAFreshWindowAtTheNextObservation() {
        var detector = StallDetector(TransferLimits(stallSeconds: 1, minimumBytesPerSecond: 1024))
        #expect(!observe(&detector, 0, at: Self.second))
        detector.reset()
        #expect(!observe(&detector, 0, at: 100 * Self.second), "time before the reset (queued for a connection, say) does not count")
        #expect(observe(&detector, 5, at: 101 * Self.second))
    }

    @Test func theLimitVariablesAreReadAndCheckedAndDefaultsApplyWithoutThem() throws {
        #expect(try TransferLimits.fromEnvironment([:]) == .default)
        #expect(TransferLimits.default.stallSeconds == 60)
        #expect(TransferLimits.default.maxAnswerBytes == 256 << 20)
        let set = try TransferLimits.fromEnvironment(["DATAPIN_STALL_TIMEOUT": "5", "DATAPIN_MAX_ANSWER_SIZE": "2 GiB"])
        #expect(set.stallSeconds == 5)
        #expect(set.maxAnswerBytes == 2 << 30)
        #expect(try TransferLimits.fromEnvironment(["DATAPIN_MAX_ANSWER_SIZE": "4096"]).maxAnswerBytes == 4096)
        for (variable, value) in [("DATAPIN_STALL_TIMEOUT", "0"), ("DATAPIN_STALL_TIMEOUT", "1.5"), ("DATAPIN_MAX_ANSWER_SIZE", "big"), ("DATAPIN_MAX_ANSWER_SIZE", "0")] {
            let error = try #require(throws: TransferLimits.InvalidSetting.self) { try TransferLimits.fromEnvironment([variable: value]) }
            #expect(error.message.hasPrefix("\(variable) is '\(value)', which is not "))
        }
    }

    @Test func anAnswerUpToTheCapIsReadAndOneByteMoreIsRefused() throws {
        let body = Data(repeating: UInt8(ascii: "x"), count: 5_000)
        let server = try LoopbackServer { _ in .ok(body) }
        defer { server.shutdown() }
        let exact = HTTPClient(limits: TransferLimits(maxAnswerBytes: 5_000))
        #expect(try exact.send(HTTPRequest(url: "\(server.baseURL)/c.json")).body == body)

        let capped = HTTPClient(limits: TransferLimits(maxAnswerBytes: 4_999))
        let error = try #require(throws: HTTPClientError.self) { try capped.send(HTTPRequest(url: "\(server.baseURL)/c.json")) }
        guard case .answerTooLarge(let url, let reason) = error else { Issue.record("expected answerTooLarge, got \(error)"); return }
        #expect(url == "\(server.baseURL)/c.json")
        #expect(reason.contains("larger than 4999 bytes"))
    }

    @Test func aCompressedAnswerMayInflateUpToTheRatio() throws {
        // Random letters, which gzip shrinks less than twofold: well within 100×.
        var text = Data(capacity: 400_000)
        var state: UInt32 = 12_345
        for _ in 0..<400_000 {
            state = state &* 1_103_515_245 &+ 12_345
            text.append(UInt8(97 + Int((state >> 16) % 26)))
        }
        let modest = try LoopbackResponse.gzipEncoded(text)
        let bomb = try LoopbackResponse.gzipEncoded(Data(count: 8 << 20))
        let server = try LoopbackServer { request in request.path == "/bomb" ? bomb : modest }
        defer { server.shutdown() }
        let client = HTTPClient(limits: TransferLimits(expansionFloor: 64 << 10))

        #expect(try client.send(HTTPRequest(url: "\(server.baseURL)/text")).body == text)
        let error = try #require(throws: HTTPClientError.self) { try client.send(HTTPRequest(url: "\(server.baseURL)/bomb")) }
        guard case .answerTooLarge(_, let reason) = error else { Issue.record("expected answerTooLarge, got \(error)"); return }
        #expect(reason.contains("decompresses to more than 100 times"))
    }
}
