@testable import DatapinCLI
import DatapinKit
import Foundation
import Testing

/// The progress display as a pure function of state and width: exact lines at 40, 80 and 200
/// columns, no line wider than the width at any width, redraws that erase what they drew, the
/// tally that feeds it, and the `progress` events of `--json`.
@Suite struct ProgressRendererTests {
    static let nircam = "jw01234-o001_t001_nircam_clear-f200w/jw01234001001_02101_00001_nrca"

    /// 3 of 9 files done, 1.234 GB of 2.5 GB at 12.3 MB/s, six files in flight.
    static let busy = ProgressState(
        filesDone: 3, filesTotal: 9, bytesDone: 1_234_000_000, bytesTotal: 2_500_000_000, bytesPerSecond: 12_300_000,
        inFlight: [
            .init(path: nircam + "1_cal.fits", bytes: 120_000_000, size: 260_000_000),
            .init(path: nircam + "2_cal.fits", bytes: 26_000_000, size: 260_000_000),
            .init(path: "ds1/small.txt", bytes: 500, size: nil),
            .init(path: "観測/データ_画像.fits", bytes: 1000, size: 4000),
            .init(path: "ds1/e.fits", bytes: 0, size: 10),
            .init(path: "ds1/f.fits", bytes: 0, size: 10),
        ])

    @Test func at40Columns() {
        #expect(ProgressRenderer.lines(Self.busy, width: 40) == [
            "[=======>       ]  49%  1.2 GB of 2.5 GB",
            "  12.3 MB/s  ETA 1m43s  3/9 files",
            "  jw01234-o…1_cal.fits   46% of 260.0 MB",
            "  jw01234-o…2_cal.fits   10% of 260.0 MB",
            "  ds1/small.txt                    500 B",
            "  観測/デー…_画像.fits     25% of 4.0 kB",
            "  … and 2 more",
        ])
    }

    @Test func at80Columns() {
        #expect(ProgressRenderer.lines(Self.busy, width: 80) == [
            "[==========>           ]  49%  1.2 GB of 2.5 GB  12.3 MB/s  ETA 1m43s  3/9 files",
            "  jw01234-o001_t001_nircam_clea…001_02101_00001_nrca1_cal.fits   46% of 260.0 MB",
            "  jw01234-o001_t001_nircam_clea…001_02101_00001_nrca2_cal.fits   10% of 260.0 MB",
            "  ds1/small.txt                                                            500 B",
            "  観測/データ_画像.fits                                            25% of 4.0 kB",
            "  … and 2 more",
        ])
    }

    @Test func at200Columns() {
        #expect(ProgressRenderer.lines(Self.busy, width: 200) == [
            "[===================>                    ]  49%  1.2 GB of 2.5 GB  12.3 MB/s  ETA 1m43s  3/9 files",
            "  jw01234-o001_t001_nircam_clear-f200w/jw01234001001_02101_00001_nrca1_cal.fits   46% of 260.0 MB",
            "  jw01234-o001_t001_nircam_clear-f200w/jw01234001001_02101_00001_nrca2_cal.fits   10% of 260.0 MB",
            "  ds1/small.txt                                                                             500 B",
            "  観測/データ_画像.fits                                                             25% of 4.0 kB",
            "  … and 2 more",
        ])
    }

    @Test func unknownSizesShowBytesAndRateWithoutABar() {
        let state = ProgressState(filesDone: 0, filesTotal: 1, bytesDone: 5_000, bytesTotal: 0, bytesPerSecond: nil,
                                  inFlight: [.init(path: "a.txt", bytes: 5_000, size: nil)])
        #expect(ProgressRenderer.lines(state, width: 80) == ["5.0 kB  0/1 file", "  a.txt  5.0 kB"])
    }

    @Test func theBarFillsAndEnds() {
        #expect(ProgressRenderer.bar(done: 0, total: 100, cells: 10) == "[>         ]")
        #expect(ProgressRenderer.bar(done: 55, total: 100, cells: 10) == "[=====>    ]")
        #expect(ProgressRenderer.bar(done: 100, total: 100, cells: 10) == "[==========]")
        #expect(ProgressRenderer.bar(done: 150, total: 100, cells: 10) == "[==========]")
        #expect(ProgressRenderer.percentText(999, of: 1000) == " 99%")
        #expect(ProgressRenderer.duration(59.2) == "1m00s")
        #expect(ProgressRenderer.duration(7_500) == "2h05m")
    }

    @Test func listingLinesFitTheirWidth() {
        #expect(ProgressRenderer.listingLines(listed: 120, total: 400, width: 80) == ["[===========>                          ]  30%  listed 120 of 400 dataset entries"])
        #expect(ProgressRenderer.listingLines(listed: 120, total: 400, width: 40) == ["[=====>           ]  30%  listed 120/400"])
        #expect(ProgressRenderer.listingLines(listed: 120, total: 400, width: 20) == [" 30%  listed 120/400"])
        #expect(ProgressRenderer.listingLines(listed: 1, total: 1, width: 60) == ["[========================] 100%  listed 1 of 1 dataset entry"])
    }

    /// Long names, wide characters, combining marks, emoji and control characters, at every width.
    @Test func noLineIsWiderThanTheWidth() {
        let names = [
            String(repeating: "very_long_directory_name/", count: 12) + "file.fits",
            String(repeating: "観測データ", count: 30) + ".fits",
            String(repeating: "e\u{301}", count: 200),
            String(repeating: "🔭🇪🇺👩‍🔬", count: 40),
            "tab\there\nnew\u{1B}[31mred\u{202E}txt",
            "",
        ]
        var state = Self.busy
        state.inFlight = names.enumerated().map { .init(path: $1, bytes: Int64($0) * 1_000_000_007, size: $0 % 2 == 0 ? 9_999_999_999_999 : nil) }
        for width in 10...250 {
            for lines in [ProgressRenderer.lines(state, width: width), ProgressRenderer.lines(ProgressState(), width: width),
                          ProgressRenderer.listingLines(listed: 123_456, total: 999_999, width: width)] {
                for line in lines {
                    #expect(TerminalText.width(line) <= width, "width \(width): \(line)")
                    #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0 == "\u{202E}" }, "no control character reaches the terminal: \(line)")
                }
            }
        }
    }

    @Test func namesAreShortenedInTheMiddleByColumns() {
        #expect(TerminalText.middleShortened("abcdefghijklmnopqrstuvwxyz", columns: 9) == "abcd…wxyz")
        #expect(TerminalText.middleShortened("観測データ画像.fits", columns: 10) == "観測….fits")
        #expect(TerminalText.width("e\u{301}🇪🇺観") == 5)
        #expect(TerminalText.truncated("abcdef", columns: 4) == "abc…")
    }

    /// A redraw moves up exactly as many rows as the last draw took (more when a resize made
    /// them wrap), erases and draws each line, ending in a newline, and erases the rows a taller
    /// block left over, going back up over them.
    @Test func redrawMovesUpOverWhatItDrew() {
        let first = ProgressRenderer.lines(Self.busy, width: 80)
        #expect(ProgressRenderer.redraw(erasing: [], columns: 80, drawing: first) == "\r" + first.map { "\u{1B}[2K" + $0 + "\n" }.joined())
        let again = ProgressRenderer.redraw(erasing: first, columns: 80, drawing: ["x"])
        #expect(again == "\r\u{1B}[\(first.count)A\u{1B}[2Kx\n" + String(repeating: "\u{1B}[2K\n", count: first.count - 1) + "\u{1B}[\(first.count - 1)A")
        // Narrowed to 40 columns: the five 80-column lines take two rows each, "… and 2 more" one.
        #expect(ProgressRenderer.redraw(erasing: first, columns: 40, drawing: []) == "\r\u{1B}[11A" + String(repeating: "\u{1B}[2K\n", count: 11) + "\u{1B}[11A")
        #expect(!ProgressRenderer.redraw(erasing: first, columns: 80, drawing: first).contains("\u{1B}[J"), "no erase-below")
    }

    /// Drawing a block again and again, of changing length, through a terminal leaves only the
    /// last block, and clearing leaves nothing.
    @Test func aTerminalBlockLeavesNoStaleLines() {
        let output = Output()
        let block = TerminalBlock(columns: { 45 }, write: { output.text += $0 })
        output.text += "before\n"
        for step in 0..<30 {
            var state = Self.busy
            state.inFlight = Array(state.inFlight.prefix(step % 7))
            state.bytesDone = Int64(step) * 80_000_000
            block.draw { ProgressRenderer.lines(state, width: $0) }
            if step == 10 { block.printAbove("retrying a.fits") }
        }
        var screen = TerminalScreen(columns: 45)
        screen.feed(output.text)
        #expect(screen.wrapped == 0)
        let last = ProgressRenderer.lines({ var s = Self.busy; s.inFlight = Array(s.inFlight.prefix(29 % 7)); s.bytesDone = 29 * 80_000_000; return s }(), width: 44)
        #expect(screen.text == ["before", "retrying a.fits"] + last)
        block.clear()
        var cleared = TerminalScreen(columns: 45)
        cleared.feed(output.text)
        #expect(cleared.text == ["before", "retrying a.fits"])
    }

    final class Output: @unchecked Sendable {
        var text = ""
    }

    static func placed(_ path: String, size: Int64) -> SyncEvent {
        .transferFinished(path: path, result: TransferResult(id: 0, outcome: .placed(sha256: "00", size: size), bytesTransferred: size, resumedFrom: nil, attempts: 1))
    }

    /// Bytes done count what is on disk; the rate counts only what arrived (a resumed file's
    /// earlier bytes do not make a burst), over the last five seconds; a failed file leaves
    /// the total; a size the lock lacked is learned from the server.
    @Test func theTallyCountsBytesRateAndTotals() {
        let start = Date(timeIntervalSince1970: 1_000_000)
        var tally = TransferTally(files: 3, bytes: 3_000_000, at: start)
        tally.apply(.transferStarted(path: "a", size: 1_000_000), at: start)
        tally.apply(.transferStarted(path: "b", size: 2_000_000), at: start)
        tally.apply(.transferStarted(path: "c", size: nil), at: start)
        tally.apply(.transferProgress(path: "a", bytes: 100_000, total: 1_000_000), at: start + 1)
        tally.apply(.transferProgress(path: "b", bytes: 1_500_000, total: 2_000_000), at: start + 1)  // resumed at about 1.5 MB
        tally.apply(.transferProgress(path: "c", bytes: 50_000, total: 500_000), at: start + 1)
        var state = tally.state(at: start + 2)
        #expect(state.bytesDone == 1_650_000)
        #expect(state.bytesTotal == 3_500_000)
        #expect(abs((state.bytesPerSecond ?? 0) - 75_000) < 0.01)
        #expect(state.inFlight.map(\.path) == ["a", "b", "c"])
        #expect(state.inFlight.last?.size == 500_000)

        tally.apply(.transferProgress(path: "b", bytes: 2_000_000, total: 2_000_000), at: start + 3)
        tally.apply(Self.placed("b", size: 2_000_000), at: start + 3)
        tally.apply(.transferFinished(path: "c", result: TransferResult(id: 2, outcome: .failed(.cancelled), bytesTransferred: 0, resumedFrom: nil, attempts: 1)), at: start + 3)
        state = tally.state(at: start + 4)
        #expect(state.filesDone == 2)
        #expect(state.bytesDone == 2_100_000)
        #expect(state.bytesTotal == 3_000_000)
        #expect(abs((state.bytesPerSecond ?? 0) - 162_500) < 0.01)
        #expect(state.inFlight.map(\.path) == ["a"])
        // Nothing arrives for ten seconds: the rate falls to nothing and there is no ETA.
        state = tally.state(at: start + 14)
        #expect(state.bytesPerSecond == 0)
        #expect(state.etaSeconds == nil)
    }

    /// `--json` prints a `progress` event at the start, one a second from the timer, and one
    /// at the end with everything done.
    @Test func progressEventsCarryBytesFilesAndFilesInFlight() throws {
        let output = Output()
        let lock = NSLock()
        let progress = SyncProgress(style: .ndjson, standardOutput: { text in lock.withLock { output.text += text } }, standardError: { _ in })
        progress.start(totalFiles: 2, totalBytes: 300)
        progress.handle(.transferStarted(path: "ds/a", size: 100))
        progress.handle(.transferProgress(path: "ds/a", bytes: 40, total: 100))
        Thread.sleep(forTimeInterval: 1.3)
        progress.handle(.transferProgress(path: "ds/a", bytes: 100, total: 100))
        progress.handle(Self.placed("ds/a", size: 100))
        progress.handle(.transferStarted(path: "ds/b", size: 200))
        progress.handle(Self.placed("ds/b", size: 200))
        progress.finish()
        let events = lock.withLock { output.text }.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let records = events.filter { $0["event"] as? String == "progress" }
        #expect(records.count >= 3, "\(events)")
        let first = try #require(records.first), middle = records[1], last = try #require(records.last)
        #expect(first["bytes_done"] as? Int == 0)
        #expect(first["bytes_total"] as? Int == 300)
        #expect(first["files_total"] as? Int == 2)
        #expect(middle["bytes_done"] as? Int == 40)
        let inFlight = try #require(middle["in_flight"] as? [[String: Any]])
        #expect(inFlight.count == 1)
        #expect(inFlight.first?["path"] as? String == "ds/a")
        #expect(inFlight.first?["bytes"] as? Int == 40)
        #expect(inFlight.first?["size"] as? Int == 100)
        #expect(last["bytes_done"] as? Int == 300)
        #expect(last["files_done"] as? Int == 2)
        #expect((last["in_flight"] as? [Any])?.isEmpty == true)
        #expect(Set(last.keys) == ["event", "files_done", "files_total", "bytes_done", "bytes_total", "bytes_per_second", "eta_seconds", "elapsed_seconds", "in_flight"])
        #expect(events.last?["event"] as? String == "progress")
    }
}
