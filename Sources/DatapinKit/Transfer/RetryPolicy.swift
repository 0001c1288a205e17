import CCurl
import Foundation

/// When to try a failed transfer again: exponential backoff with full jitter, and the
/// server's `Retry-After` when it sends one. The clock and the random source are injectable
/// so the schedule can be tested.
public struct RetryPolicy: Sendable {
    /// Tries in all, the first included; a transfer that fails this many times has failed.
    public var maxAttempts: Int
    /// The backoff ceiling after the first failure; it doubles after each further failure.
    public var baseDelay: TimeInterval
    /// The largest backoff ceiling.
    public var maxDelay: TimeInterval
    /// The longest wait a server's `Retry-After` is granted.
    public var maxRetryAfter: TimeInterval
    /// A uniform random number in `0..<1`.
    public var random: @Sendable () -> Double
    /// The current time, for `Retry-After` given as an HTTP date.
    public var now: @Sendable () -> Date

    public init(maxAttempts: Int = 5, baseDelay: TimeInterval = 0.5, maxDelay: TimeInterval = 30, maxRetryAfter: TimeInterval = 120, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, now: @escaping @Sendable () -> Date = { Date() }) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(0, maxDelay)
        self.maxRetryAfter = max(0, maxRetryAfter)
        self.random = random
        self.now = now
    }

    /// Five tries, backoff from 0.5 s up to 30 s, `Retry-After` honoured up to two minutes.
    public static let `default` = RetryPolicy()

    /// Whether another try is allowed after `failedAttempts` failures.
    public func allowsRetry(afterFailures failedAttempts: Int) -> Bool {
        failedAttempts < maxAttempts
    }

    /// The backoff ceiling after the `failure`-th failure (1-based): `baseDelay · 2^(failure−1)`,
    /// at most `maxDelay`.
    public func backoffCeiling(afterFailure failure: Int) -> TimeInterval {
        let exponent = Double(max(0, min(failure - 1, 62)))
        return min(maxDelay, baseDelay * pow(2, exponent))
    }

    /// The wait before the next try after the `failure`-th failure: the server's `Retry-After`
    /// (capped at `maxRetryAfter`) when it gave a usable one, otherwise a uniformly random
    /// time between zero and the backoff ceiling ("full jitter").
    public func delay(afterFailure failure: Int, retryAfter: String? = nil) -> TimeInterval {
        if let retryAfter, let seconds = retryAfterSeconds(retryAfter) {
            return seconds
        }
        let fraction = min(max(random(), 0), 1)
        return backoffCeiling(afterFailure: failure) * fraction
    }

    /// A `Retry-After` value (delay in seconds or an HTTP date) as seconds from now, at most
    /// `maxRetryAfter`; a date in the past is zero. Nil when the value is neither.
    public func retryAfterSeconds(_ value: String) -> TimeInterval? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }) {
            guard let seconds = Double(text) else { return nil }
            return min(seconds, maxRetryAfter)
        }
        let epochSeconds = text.withCString { curl_getdate($0, nil) }
        guard epochSeconds >= 0 else { return nil }
        let interval = Date(timeIntervalSince1970: TimeInterval(epochSeconds)).timeIntervalSince(now())
        return min(max(interval, 0), maxRetryAfter)
    }
}
