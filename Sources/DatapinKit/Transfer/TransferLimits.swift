import DatapinSupport
import Foundation

/// Bounds on the network work one request may cause: how slow a transfer may get before it
/// counts as stalled, how many bytes of an archive's answer are held in memory, and how far a
/// compressed answer may inflate. Downloads are bounded by their locked size instead.
public struct TransferLimits: Sendable, Hashable {
    /// A transfer that receives fewer than `minimumBytesPerSecond × stallSeconds` bytes within
    /// `stallSeconds` has stalled.
    public var stallSeconds: Int
    public var minimumBytesPerSecond: Int64
    /// The most bytes of one archive answer (a catalog, a page of JSON) kept, after decoding.
    public var maxAnswerBytes: Int64
    /// A compressed answer may decode to at most this many times the bytes received…
    public var maxExpansionRatio: Int64
    /// …once it has decoded to more than this many bytes.
    public var expansionFloor: Int64

    public init(stallSeconds: Int = 60, minimumBytesPerSecond: Int64 = 1024, maxAnswerBytes: Int64 = 256 << 20, maxExpansionRatio: Int64 = 100, expansionFloor: Int64 = 16 << 20) {
        self.stallSeconds = max(1, stallSeconds)
        self.minimumBytesPerSecond = max(1, minimumBytesPerSecond)
        self.maxAnswerBytes = max(1, maxAnswerBytes)
        self.maxExpansionRatio = max(1, maxExpansionRatio)
        self.expansionFloor = max(0, expansionFloor)
    }

    /// A 60 s stall window at 1 KiB/s, answers of at most 256 MiB, inflating at most 100× past 16 MiB.
    public static let `default` = TransferLimits()

    /// The variable that sets `stallSeconds`: a whole number of seconds, 1 or more.
    public static let stallTimeoutVariable = "DATAPIN_STALL_TIMEOUT"
    /// The variable that sets `maxAnswerBytes`: a size such as `512MiB` or a number of bytes.
    public static let maxAnswerSizeVariable = "DATAPIN_MAX_ANSWER_SIZE"

    /// Why a limit variable could not be read.
    public struct InvalidSetting: Error, Sendable, Hashable {
        public var variable: String
        public var value: String
        public var expected: String

        /// One plain sentence for the user.
        public var message: String { "\(variable) is '\(value)', which is not \(expected)" }
    }

    /// The defaults with the overrides `environment` sets.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(InvalidSetting) -> TransferLimits {
        var limits = TransferLimits.default
        if let text = environment[stallTimeoutVariable], !text.isEmpty {
            guard let seconds = Int(text.trimmingCharacters(in: .whitespaces)), seconds >= 1 else {
                throw InvalidSetting(variable: stallTimeoutVariable, value: text, expected: "a whole number of seconds, 1 or more (such as 60)")
            }
            limits.stallSeconds = seconds
        }
        if let text = environment[maxAnswerSizeVariable], !text.isEmpty {
            guard let bytes = ByteSize.parse(text), bytes >= 1 else {
                throw InvalidSetting(variable: maxAnswerSizeVariable, value: text, expected: "a size such as 512MiB or a number of bytes")
            }
            limits.maxAnswerBytes = bytes
        }
        return limits
    }

    /// What the environment sets, or the defaults when it sets something unreadable (commands
    /// that use the network check `fromEnvironment` first and report that).
    public static var environmentOrDefault: TransferLimits {
        (try? fromEnvironment()) ?? .default
    }

    /// How a stall is reported.
    var stallReason: String {
        "the server stalled: fewer than \(minimumBytesPerSecond) bytes a second arrived over \(stallSeconds) s (\(Self.stallTimeoutVariable) sets that window)"
    }

    /// Whether `decoded` bytes from `received` bytes on the wire inflate too far.
    func inflatesTooFar(decoded: Int64, received: Int64) -> Bool {
        decoded > expansionFloor && decoded / max(1, received) > maxExpansionRatio
    }
}

/// Watches one transfer attempt's byte count in tumbling windows of `stallSeconds`: fewer than
/// `minimumBytesPerSecond × stallSeconds` new bytes within a window is a stall. The first window
/// starts at the first observation, so time spent queued for a connection does not count.
struct StallDetector {
    private let windowNanoseconds: UInt64
    private let minimumBytes: Int64
    private var windowStart: UInt64?
    private var bytesAtWindowStart: Int64 = 0

    init(_ limits: TransferLimits) {
        windowNanoseconds = UInt64(limits.stallSeconds) * 1_000_000_000
        minimumBytes = limits.minimumBytesPerSecond * Int64(limits.stallSeconds)
    }

    /// Forgets the current window; the next observation starts a new one.
    mutating func reset() {
        windowStart = nil
    }

    /// Whether the transfer has stalled, `bytes` being its total so far.
    mutating func hasStalled(bytes: Int64, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Bool {
        guard let windowStart else {
            startWindow(bytes: bytes, now: now)
            return false
        }
        guard now &- windowStart >= windowNanoseconds else { return false }
        if bytes - bytesAtWindowStart < minimumBytes { return true }
        startWindow(bytes: bytes, now: now)
        return false
    }

    private mutating func startWindow(bytes: Int64, now: UInt64) {
        windowStart = now
        bytesAtWindowStart = bytes
    }
}
