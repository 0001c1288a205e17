import DatapinKit
import Foundation

/// Counts a sync's transfers from its events into a `ProgressState`: files and bytes done, the
/// files in flight, and the rate over the last few seconds. A value, fed events and times by
/// `SyncProgress`, so it is tested without a clock.
struct TransferTally {
    /// The rate is measured over this many seconds, so a stall shows as a falling rate.
    static let rateWindow: TimeInterval = 5
    /// libcurl's buffer (`CURLOPT_BUFFERSIZE` in `TransferEngine`): the most the first progress
    /// count of a fresh download can be.
    static let firstCountCeiling: Int64 = 256 << 10

    private var filesTotal = 0
    /// Locked sizes of the files to fetch, plus sizes learned from servers and placed files.
    private var bytesTotal: Int64 = 0
    private var filesDone = 0
    private var bytesOfFinished: Int64 = 0
    /// In the order they started; a sync has at most `--jobs` (64) at once.
    private var inFlight: [ProgressState.File] = []
    /// Paths in flight whose size neither the lock nor yet the server gave.
    private var sizeUnknown: Set<String> = []
    /// Bytes received (not counting a resumed file's earlier bytes), for the rate.
    private var received: Int64 = 0
    private var samples: [(time: Date, received: Int64)] = []
    private(set) var started: Date

    init(files: Int = 0, bytes: Int64 = 0, at time: Date = Date()) {
        filesTotal = files
        bytesTotal = bytes
        started = time
        samples = [(time, 0)]
    }

    /// Takes one event of the sync, which came at `time`.
    mutating func apply(_ event: SyncEvent, at time: Date) {
        switch event {
        case .transferStarted(let path, let size):
            inFlight.removeAll { $0.path == path }
            inFlight.append(ProgressState.File(path: path, bytes: 0, size: size))
            if size == nil { sizeUnknown.insert(path) }
        case .transferProgress(let path, let bytes, let total):
            guard let index = inFlight.firstIndex(where: { $0.path == path }) else { return }
            // The first count of a file was received now unless it is more than libcurl hands
            // over at once: then it holds a resumed file's earlier bytes. A count that falls
            // is a retry starting over.
            let before = inFlight[index].bytes
            if before == 0 && bytes <= Self.firstCountCeiling || before > 0 && bytes > before { received += bytes - before }
            inFlight[index].bytes = bytes
            if let total, sizeUnknown.remove(path) != nil {
                inFlight[index].size = total
                bytesTotal += total
            }
            sample(at: time)
        case .transferFinished(let path, let result):
            guard let index = inFlight.firstIndex(where: { $0.path == path }) else { return }
            let file = inFlight.remove(at: index)
            let unknown = sizeUnknown.remove(path) != nil
            filesDone += 1
            switch result.outcome {
            case .placed(_, let size):
                if file.bytes == 0 ? size <= Self.firstCountCeiling : size > file.bytes { received += size - file.bytes }
                bytesOfFinished += size
                if unknown { bytesTotal += size }
            case .failed:
                // What will not arrive leaves the total, so the bar can still reach its end.
                if let size = file.size { bytesTotal -= size }
            }
            sample(at: time)
        case .retrying, .placedDuplicate, .pruned:
            break
        }
    }

    /// Remembers how much had been received at `time`, one sample a tenth of a second at most,
    /// dropping those older than the rate window but the last of them.
    private mutating func sample(at time: Date) {
        if let last = samples.last, time.timeIntervalSince(last.time) < 0.1, samples.count > 1 {
            samples[samples.count - 1].received = received
        } else {
            samples.append((time, received))
        }
        let windowStart = time.addingTimeInterval(-Self.rateWindow)
        if let firstInWindow = samples.firstIndex(where: { $0.time >= windowStart }), firstInWindow > 1 {
            samples.removeFirst(firstInWindow - 1)
        }
    }

    /// The state at `time`: the rate is what arrived since the newest sample at least a rate
    /// window old (or since the start), over the time since then; nil in the first half second.
    func state(at time: Date) -> ProgressState {
        let done = bytesOfFinished + inFlight.reduce(0) { $0 + $1.bytes }
        var rate: Double?
        let windowStart = time.addingTimeInterval(-Self.rateWindow)
        let base = samples.last { $0.time <= windowStart } ?? samples[0]
        let span = time.timeIntervalSince(base.time)
        if time.timeIntervalSince(started) >= 0.5, span > 0 {
            rate = Double(received - base.received) / span
        }
        return ProgressState(filesDone: filesDone, filesTotal: filesTotal, bytesDone: done, bytesTotal: bytesTotal > 0 ? max(bytesTotal, done) : 0,
                             bytesPerSecond: rate, inFlight: inFlight)
    }
}
