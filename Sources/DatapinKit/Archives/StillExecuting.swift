import Foundation

/// What one ask of a service that works asynchronously answered: the result, or word that the
/// service is still working on it (MAST's Portal answers `EXECUTING`; a UWS job is `QUEUED` or
/// `EXECUTING` until its phase is `COMPLETED`).
public enum PollAnswer<Answer> {
    case done(Answer)
    case stillExecuting
}

/// Asks again while an answer says the service is still executing: waits `initialDelaySeconds`,
/// then `backoff` times longer each time up to `maximumDelaySeconds`, and gives up after
/// `maximumAttempts` asks. The wait is a task sleep, never a blocked thread.
public struct StillExecutingPolicy: Sendable, Hashable {
    public var initialDelaySeconds: Double
    public var backoff: Double
    public var maximumDelaySeconds: Double
    public var maximumAttempts: Int

    public init(initialDelaySeconds: Double, backoff: Double = 1.5, maximumDelaySeconds: Double = 30, maximumAttempts: Int) {
        self.initialDelaySeconds = max(0, initialDelaySeconds)
        self.backoff = max(1, backoff)
        self.maximumDelaySeconds = max(self.initialDelaySeconds, maximumDelaySeconds)
        self.maximumAttempts = max(1, maximumAttempts)
    }

    /// The wait before ask number `attempt + 1` (after `attempt` answers said "executing").
    public func delay(after attempt: Int) -> Double {
        min(maximumDelaySeconds, initialDelaySeconds * pow(backoff, Double(max(0, attempt - 1))))
    }

    /// Calls `ask` until it answers `.done`; after `maximumAttempts` answers that say it is
    /// still executing, `service` (at `shownURL`) is unreachable for now.
    public func poll<Answer>(service: String, shownURL: String, _ ask: () async throws(ArchiveError) -> PollAnswer<Answer>) async throws(ArchiveError) -> Answer {
        for attempt in 1...maximumAttempts {
            if case .done(let answer) = try await ask() { return answer }
            if attempt < maximumAttempts {
                try? await Task.sleep(nanoseconds: UInt64(delay(after: attempt) * 1_000_000_000))
            }
        }
        throw .unreachable(url: shownURL, reason: "\(service) was still executing after \(maximumAttempts) tries; try again later")
    }
}
