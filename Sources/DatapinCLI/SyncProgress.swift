import DatapinKit
import Foundation

/// Shows a sync as it happens: one redrawn line on a terminal (files, bytes, rate, ETA), plain
/// lines otherwise, or NDJSON events on stdout with `--json`. Events arrive on the sync run's
/// event thread (`SyncRun.run`), never the transfer thread, so writing here may block without
/// holding up a transfer; everything here is guarded by one lock.
final class SyncProgress: @unchecked Sendable {
    enum Style { case terminal, lines, ndjson, silent }

    private let style: Style
    private let lock = NSLock()
    private var totalFiles = 0
    private var totalBytes: Int64 = 0
    private var started = Date()
    private var filesDone = 0
    private var bytesByPath: [String: Int64] = [:]
    private var bytesOfFinished: Int64 = 0
    private var lastDraw = Date.distantPast
    private var drewLine = false

    init(style: Style) {
        self.style = style
    }

    /// Transfers begin: `totalFiles` files, `totalBytes` bytes.
    func start(totalFiles: Int, totalBytes: Int64) {
        lock.withLock {
            self.totalFiles = totalFiles
            self.totalBytes = totalBytes
            started = Date()
        }
    }

    /// The style for these options: NDJSON with --json, nothing with --quiet, a redrawn line on
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
        switch event {
        case .transferStarted(let path, let size):
            bytesByPath[path] = 0
            emit(["event": "started", "path": path, "size": size.map { NSNumber(value: $0) } ?? NSNull()])
        case .transferProgress(let path, let bytes, _):
            bytesByPath[path] = bytes
            if style == .terminal { draw(force: false) }
        case .retrying(let path, let attempt, let reason, let delay):
            emit(["event": "retrying", "path": path, "attempt": attempt, "reason": reason, "delay_seconds": delay])
            line("retrying \(path) in \(String(format: "%.1f", delay)) s (attempt \(attempt) failed: \(reason))")
        case .transferFinished(let path, let result):
            bytesByPath[path] = nil
            filesDone += 1
            switch result.outcome {
            case .placed(let sha256, let size):
                bytesOfFinished += size
                var record: [String: Any] = ["event": "placed", "path": path, "size": size, "sha256": sha256, "attempts": result.attempts]
                if let resumed = result.resumedFrom { record["resumed_from"] = resumed }
                emit(record)
                if style == .lines { line("fetched \(path) (\(ByteSize.format(size))\(result.resumedFrom.map { ", resumed at \(ByteSize.format($0))" } ?? ""))") }
            case .failed(let failure):
                // The failure itself is reported once, with the others, when the run ends.
                emit(["event": failure == .cancelled ? "cancelled" : "failed", "path": path, "reason": failure.message, "attempts": result.attempts])
            }
            if style == .terminal { draw(force: true) }
        case .placedDuplicate(let path, let owner, let mode):
            emit(["event": "duplicate", "path": path, "of": owner, "mode": mode.rawValue])
            if style == .lines { line("\(mode == .link ? "linked" : "copied") \(path) from \(owner)") }
        case .pruned(let path, let size):
            emit(["event": "pruned", "path": path, "size": size])
            line("removed \(path) (not in the lock)")
        }
    }

    /// Clears the progress line so that the summary starts on a clean line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drewLine { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        drewLine = false
    }

    /// Prints one NDJSON record on stdout (only in the NDJSON style).
    func emit(_ record: [String: Any]) {
        guard style == .ndjson, let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    private func line(_ text: String) {
        guard style == .lines || style == .terminal else { return }
        if drewLine { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        FileHandle.standardError.write(Data((text + "\n").utf8))
        drewLine = false
        if style == .terminal { draw(force: true) }
    }

    private func draw(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let done = bytesOfFinished + bytesByPath.values.reduce(0, +)
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        var text = "[\(filesDone)/\(totalFiles)] \(ByteSize.format(done)) of \(ByteSize.format(totalBytes))  \(ByteSize.format(Int64(rate)))/s"
        if rate > 0, totalBytes > done {
            text += "  ETA \(Self.duration(Double(totalBytes - done) / rate))"
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text).utf8))
        drewLine = true
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(String(format: "%02d", whole % 60))s" }
        return "\(whole / 3600)h\(String(format: "%02d", (whole % 3600) / 60))m"
    }
}
