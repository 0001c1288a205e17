import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin sync` and `lock` on a pseudo-terminal of a given width, replayed through
/// `TerminalScreen`: the progress block is drawn, redrawn in place and erased, so the screen ends
/// with the summary alone, and no line ever wraps; `--no-progress` and `--json` keep their plain
/// lines and NDJSON events.
@Suite struct ProgressTerminalTests {
    /// What a run on a terminal wrote, escapes and all.
    struct TerminalRun {
        var status: Int32
        var output: String
    }

    /// Runs `datapin arguments…` in `directory` with stdout and stderr on a pseudo-terminal
    /// `columns` wide: util-linux `script` makes it, `stty` sets its size, and everything written
    /// to it comes back on `script`'s stdout.
    static func runOnTerminal(_ arguments: [String], in directory: URL, columns: Int) throws -> TerminalRun {
        let quoted = ([TestEnvironment.datapinBinary.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-q", "-e", "-c", "stty cols \(columns) rows 50 && exec \(quoted.joined(separator: " "))", "/dev/null"]
        process.currentDirectoryURL = directory
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": directory.path, "NO_COLOR": "1", "LANG": "C.UTF-8", "TERM": "xterm-256color"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return TerminalRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Three files, two of them served slowly (64 kB every 40 ms), so the display is redrawn
    /// many times while both are in flight.
    static func slowProject() throws -> (SyncCommandTests.Project, LoopbackServer) {
        let files = [
            "jw02736001001_02101_00001_nrca1_cal.fits": SyncCommandTests.bytes(1_000_000, seed: 1),
            "jw02736001001_02101_00001_nrca2_cal.fits": SyncCommandTests.bytes(700_000, seed: 2),
            "small.txt": SyncCommandTests.bytes(10, seed: 3),
        ]
        return try SyncCommandTests.lockedProject(files: files) { request, _ in
            guard request.path.hasSuffix("_cal.fits"), let name = request.path.split(separator: "/").last, let body = files[String(name)] else { return nil }
            return LoopbackResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: body, fault: .slow(chunkSize: 65_536, delayMilliseconds: 40))
        }
    }

    /// The issue's case: at 45 columns the old single line wrapped and every redraw left a
    /// stale copy. Now the block is drawn (a bar, both slow files by name), never wraps, and
    /// the screen ends with the summary alone.
    @Test(arguments: [45, 120]) func aSyncOnATerminalLeavesOnlyItsSummary(columns: Int) throws {
        let (project, server) = try Self.slowProject()
        defer { server.shutdown() }
        let run = try Self.runOnTerminal(["sync"], in: project.directory, columns: columns)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("A\u{1B}[2K"), "the block was redrawn in place")
        #expect(run.output.contains("ETA") || run.output.contains("%"), "a status line was drawn: \(run.output)")
        #expect(run.output.contains("rca1_cal.fits"), "a file in flight was named: \(run.output)")
        let (screen, after) = Self.replay(run.output, columns: columns)
        #expect(after.count == 1 && after[0].hasPrefix("Synced 3 files (1.7 MB in"), "\(after)")
        #expect(screen.text == after.flatMap { Self.rows(of: $0, columns: columns) }, "\(run.output.debugDescription)")
    }

    /// The screen after `output`, and the lines written after the block was last erased; only
    /// those may wrap (a summary longer than the terminal), never a line of the block.
    static func replay(_ output: String, columns: Int) -> (screen: TerminalScreen, after: [String]) {
        var screen = TerminalScreen(columns: columns)
        screen.feed(output)
        let afterClear = output.components(separatedBy: "\u{1B}[2K").last ?? ""
        let after = afterClear[(afterClear.range(of: "A")?.upperBound ?? afterClear.startIndex)...].components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let allowed = after.reduce(0) { $0 + rows(of: $1, columns: columns).count - 1 }
        #expect(screen.wrapped == allowed, "no line of the block was wider than the terminal: \(output.debugDescription)")
        return (screen, after)
    }

    /// An ASCII line as a terminal `columns` wide shows it: in rows of `columns` characters.
    static func rows(of line: String, columns: Int) -> [String] {
        stride(from: 0, to: max(line.count, 1), by: columns).map { start in
            String(line.dropFirst(start).prefix(columns))
        }
    }

    /// `lock` draws its listing line through the same renderer and erases it.
    @Test func lockOnATerminalErasesItsListingLine() throws {
        let (project, server) = try Self.slowProject()
        defer { server.shutdown() }
        try FileManager.default.removeItem(at: project.directory.appendingPathComponent("datapin.lock"))
        let run = try Self.runOnTerminal(["lock"], in: project.directory, columns: 45)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("] 100%  listed 1/1"), "\(run.output.debugDescription)")
        let (screen, after) = Self.replay(run.output, columns: 45)
        #expect(after.first?.hasPrefix("Locked 3 files") == true, "\(after)")
        #expect(screen.text == after.flatMap { Self.rows(of: $0, columns: 45) }, "\(run.output.debugDescription)")
    }

    /// `--no-progress` on a terminal prints the plain lines it prints to a pipe, no escapes.
    @Test func noProgressOnATerminalPrintsPlainLines() throws {
        let (project, server) = try Self.slowProject()
        defer { server.shutdown() }
        let run = try Self.runOnTerminal(["sync", "--no-progress"], in: project.directory, columns: 45)
        #expect(run.status == 0, "\(run.output)")
        #expect(!run.output.contains("\u{1B}"), "\(run.output.debugDescription)")
        #expect(run.output.contains("fetched ds1/small.txt (10 B)"), "\(run.output)")
    }

    /// Through a pipe, a sync prints plain lines; with `--json`, `progress` events with bytes
    /// and files done of total, ending with everything done, before the summary.
    @Test func jsonSyncPrintsProgressEvents() throws {
        let (project, server) = try Self.slowProject()
        defer { server.shutdown() }
        let plain = try project.run(["sync", "--dry-run"])
        #expect(plain.status == 0)
        let sync = try project.run(["sync", "--json"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.isEmpty, "\(sync.stderr)")
        let events = sync.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let progress = events.filter { $0["event"] as? String == "progress" }
        #expect(progress.count >= 2, "\(sync.stdout)")
        #expect(progress.first?["bytes_done"] as? Int == 0)
        #expect(progress.first?["bytes_total"] as? Int == 1_700_010)
        #expect(progress.first?["files_total"] as? Int == 3)
        #expect(progress.last?["bytes_done"] as? Int == 1_700_010)
        #expect(progress.last?["files_done"] as? Int == 3)
        #expect(events.last?["event"] as? String == "summary")
        let again = try project.run(["sync"])
        #expect(again.stderr.hasPrefix("Up to date"), "no progress line reaches a pipe: \(again.stderr)")
    }
}
