import DatapinKit
import Foundation

/// Shows a sync as it happens: on a terminal, a block redrawn in place (a bar with percentage,
/// bytes of total, rate, ETA and files, then the files in flight; `ProgressRenderer`); plain
/// lines otherwise; or NDJSON events on stdout with `--json`, among them a `progress` event
/// about once a second. Events arrive on the sync run's event thread (`SyncRun.run`), and the
/// periodic redraw and `progress` event come from a timer queue of this class's own, never the
/// transfer thread, so writing here may block without holding up a transfer; everything here is
/// guarded by one lock.
final class SyncProgress: @unchecked Sendable {
    enum Style { case terminal, lines, ndjson, silent }

    /// Seconds between `progress` events with `--json`, and at most between terminal redraws.
    static let eventInterval: TimeInterval = 1
    static let redrawInterval: TimeInterval = 0.5
    /// Redraws driven by transfer events come at most this often.
    static let fastestRedraw: TimeInterval = 0.1

    private let style: Style
    /// `-v`: every fetched, linked or copied file gets a line, above the block on a terminal
    /// too, with its SHA-256 and the attempts it took.
    private let verbose: Bool
    private let lock = NSLock()
    private let now: @Sendable () -> Date
    private let writeStandardOutput: (String) -> Void
    private let writeStandardError: (String) -> Void
    private let block: TerminalBlock
    private var tally = TransferTally()
    private var transferring = false
    private var lastDraw = Date.distantPast
    private var ticker: DispatchSourceTimer?

    /// `columns` and the writers are the terminal's width and stdout and stderr unless a test
    /// gives its own.
    init(style: Style, verbose: Bool = false, now: @escaping @Sendable () -> Date = { Date() }, columns: @escaping () -> Int = { TerminalWidth.columns() },
         standardOutput: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) },
         standardError: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.style = style
        self.verbose = verbose
        self.now = now
        writeStandardOutput = standardOutput
        writeStandardError = standardError
        block = TerminalBlock(columns: columns, write: standardError)
    }

    /// Transfers begin: `totalFiles` files, `totalBytes` bytes (the known sizes of those files).
    /// Draws the block at 0%, or prints the first `progress` event, and starts the timer that
    /// keeps them coming while a transfer stalls.
    func start(totalFiles: Int, totalBytes: Int64) {
        lock.withLock {
            tally = TransferTally(files: totalFiles, bytes: totalBytes, at: now())
            transferring = totalFiles > 0
            guard transferring else { return }
            switch style {
            case .terminal:
                draw(force: true)
                startTicker(every: Self.redrawInterval) { $0.draw(force: false) }
            case .ndjson:
                emitProgress()
                startTicker(every: Self.eventInterval) { $0.emitProgress() }
            case .lines, .silent:
                break
            }
        }
    }

    /// The style for these options: NDJSON with --json, nothing with --quiet, a redrawn block on
    /// a terminal unless --no-progress or TERM=dumb, plain lines otherwise.
    static func style(for global: GlobalOptions) -> Style {
        if global.json { return .ndjson }
        if global.quiet { return .silent }
        let dumb = ProcessInfo.processInfo.environment["TERM"] == "dumb"
        return isatty(STDERR_FILENO) == 1 && !global.noProgress && !dumb ? .terminal : .lines
    }

    func handle(_ event: SyncEvent) {
        lock.lock()
        defer { lock.unlock() }
        tally.apply(event, at: now())
        switch event {
        case .transferStarted(let path, let size):
            emit(["event": "started", "path": path, "size": size.map { NSNumber(value: $0) } ?? NSNull()])
            draw(force: true)
        case .transferProgress:
            draw(force: false)
        case .retrying(let path, let attempt, let reason, let delay):
            emit(["event": "retrying", "path": path, "attempt": attempt, "reason": reason, "delay_seconds": delay])
            line("retrying \(PathSafety.escaped(path)) in \(String(format: "%.1f", delay)) s (attempt \(attempt) failed: \(reason))")
        case .transferFinished(let path, let result):
            switch result.outcome {
            case .placed(let sha256, let size):
                var record: [String: Any] = ["event": "placed", "path": path, "size": size, "sha256": sha256, "attempts": result.attempts]
                if let resumed = result.resumedFrom { record["resumed_from"] = resumed }
                emit(record)
                if style == .lines || verbose {
                    var details = [ByteSize.format(size)]
                    if let resumed = result.resumedFrom { details.append("resumed at \(ByteSize.format(resumed))") }
                    if verbose { details += ["sha256 \(sha256.prefix(16))…"] + (result.attempts > 1 ? ["\(result.attempts) attempts"] : []) }
                    line("fetched \(PathSafety.escaped(path)) (\(details.joined(separator: ", ")))")
                }
            case .failed(let failure):
                // The failure itself is reported once, with the others, when the run ends.
                emit(["event": failure == .cancelled ? "cancelled" : "failed", "path": path, "reason": failure.message, "attempts": result.attempts])
            }
            draw(force: true)
        case .placedDuplicate(let path, let owner, let mode):
            emit(["event": "duplicate", "path": path, "of": owner, "mode": mode.rawValue])
            if style == .lines || verbose { line("\(mode == .link ? "linked" : "copied") \(PathSafety.escaped(path)) from \(PathSafety.escaped(owner))") }
        case .pruned(let path, let size):
            emit(["event": "pruned", "path": path, "size": size])
            line("removed \(path) (not in the lock)")
        }
    }

    /// Transfers are over: stops the timer, prints the last `progress` event (all done) with
    /// `--json`, and erases the block so that the summary starts where it began.
    func finish() {
        lock.withLock {
            ticker?.cancel()
            ticker = nil
            if transferring && style == .ndjson { emitProgress() }
            transferring = false
            block.clear()
        }
    }

    /// Prints one NDJSON record on stdout (only in the NDJSON style).
    func emit(_ record: [String: Any]) {
        guard style == .ndjson, let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
    }

    /// The `progress` event of a state: `files_done` (placed or failed) of `files_total`;
    /// `bytes_done` (on disk, a resumed file's earlier bytes included) of `bytes_total` (the known
    /// sizes of the files to fetch; 0 when none is known); `bytes_per_second` over the last five
    /// seconds and `eta_seconds` (null until known); `elapsed_seconds` since transfers began;
    /// `in_flight`, each file's `path`, `bytes` on disk and `size` (null when unknown).
    static func progressRecord(_ state: ProgressState, elapsed: TimeInterval) -> [String: Any] {
        [
            "event": "progress",
            "files_done": state.filesDone,
            "files_total": state.filesTotal,
            "bytes_done": state.bytesDone,
            "bytes_total": state.bytesTotal,
            "bytes_per_second": state.bytesPerSecond.map { NSNumber(value: Int64($0.rounded())) } ?? NSNull(),
            "eta_seconds": state.etaSeconds.map { NSNumber(value: Int64($0.rounded(.up))) } ?? NSNull(),
            "elapsed_seconds": (elapsed * 10).rounded(.down) / 10,
            "in_flight": state.inFlight.map { file in
                ["path": file.path, "bytes": file.bytes, "size": file.size.map { NSNumber(value: $0) } ?? NSNull()] as [String: Any]
            },
        ]
    }

    private func emitProgress() {
        guard transferring else { return }
        let time = now()
        emit(Self.progressRecord(tally.state(at: time), elapsed: time.timeIntervalSince(tally.started)))
    }

    /// Calls `action` with the lock held every `interval` seconds on a queue of its own, until
    /// `finish`.
    private func startTicker(every interval: TimeInterval, _ action: @escaping (SyncProgress) -> Void) {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "datapin-sync-progress"))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            lock.withLock { if transferring { action(self) } }
        }
        timer.resume()
        ticker = timer
    }

    private func line(_ text: String) {
        switch style {
        case .lines: writeStandardError(text + "\n")
        case .terminal:
            block.printAbove(text)
            draw(force: true)
        case .ndjson, .silent: break
        }
    }

    private func draw(force: Bool) {
        guard style == .terminal, transferring else { return }
        let time = now()
        guard force || time.timeIntervalSince(lastDraw) >= Self.fastestRedraw else { return }
        lastDraw = time
        let state = tally.state(at: time)
        block.draw { ProgressRenderer.lines(state, width: $0) }
    }
}
