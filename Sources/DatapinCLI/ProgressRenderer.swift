import DatapinKit

/// What the sync progress display shows at one moment: `SyncProgress` keeps it, the renderer
/// draws it, and `--json` prints it as a `progress` event.
struct ProgressState: Sendable, Hashable {
    /// A file being fetched: `bytes` of it are on disk (a resumed file's earlier bytes included).
    struct File: Sendable, Hashable {
        var path: String
        var bytes: Int64
        /// Its size, from the lock or, failing that, the server; nil when neither says.
        var size: Int64?
    }

    var filesDone = 0
    var filesTotal = 0
    var bytesDone: Int64 = 0
    /// Bytes of every file to fetch that has a known size; 0 when none has.
    var bytesTotal: Int64 = 0
    /// Recent receiving rate; nil until there is enough to tell.
    var bytesPerSecond: Double?
    /// In the order they started.
    var inFlight: [File] = []

    /// Seconds left at the recent rate; nil when the rate or the total is unknown.
    var etaSeconds: Double? {
        guard let rate = bytesPerSecond, rate > 0, bytesTotal > bytesDone else { return nil }
        return Double(bytesTotal - bytesDone) / rate
    }
}

/// Draws progress as lines no wider than a given width, and the escapes that redraw them in
/// place. Pure: the same state and width always give the same lines, so tests pin them exactly.
///
/// A sync draws its status (bar, percentage, bytes of total, rate, ETA, files: on one line, or
/// on two where the width does not hold them) and up to `shownFiles` lines of files in flight,
/// names shortened in the middle.
enum ProgressRenderer {
    /// Files in flight drawn by name; more are counted on one line ("… and 3 more").
    static let shownFiles = 4
    /// The bar's cells between its brackets, at most and at least.
    static let widestBar = 40
    static let narrowestBar = 10
    /// The fewest columns a file name is shortened to before its percentage is dropped.
    static let narrowestName = 8

    /// The lines of a sync's progress, none wider than `width` columns.
    static func lines(_ state: ProgressState, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines = statusLines(state, width: width)
        let shown = Array(state.inFlight.prefix(shownFiles))
        lines += fileLines(shown, width: width)
        let more = state.inFlight.count - shown.count
        if more > 0 { lines.append(TerminalText.truncated("  … and \(more) more", columns: width)) }
        return lines
    }

    /// The line of `lock`, `plan` and `outdated` while they list: "[====>   ]  30%  listed 120 of
    /// 400 dataset entries", no wider than `width` columns.
    static func listingLines(listed: Int, total: Int, width: Int) -> [String] {
        guard width > 0 else { return [] }
        let percent = percentText(Int64(listed), of: Int64(total))
        let layouts: [(bar: Bool, segments: [String])] = [
            (true, [percent, "listed \(listed) of \(total) dataset entr\(total == 1 ? "y" : "ies")"]),
            (true, [percent, "listed \(listed)/\(total)"]),
            (false, [percent, "listed \(listed)/\(total)"]),
        ]
        return [fit(layouts, done: Int64(listed), total: Int64(total), width: width)]
    }

    /// The status: one line (bar, percentage, bytes of total, rate, ETA, files) where it fits
    /// with a bar of at least `narrowestBar` cells; else the bar, percentage and bytes on one
    /// line and the rate, ETA and files under it, the files count dropped first, then the rate.
    static func statusLines(_ state: ProgressState, width: Int) -> [String] {
        let done = ByteSize.format(state.bytesDone)
        let rate = state.bytesPerSecond.map { "\(ByteSize.format(Int64($0)))/s" }
        let eta = state.etaSeconds.map { "ETA \(duration($0))" }
        let files = "\(state.filesDone)/\(state.filesTotal) file\(state.filesTotal == 1 ? "" : "s")"
        guard state.bytesTotal > 0 else {
            let layouts: [[String?]] = [[done, rate, files], [done, rate], [done]]
            return [fit(layouts.map { (false, $0.compactMap { $0 }) }, done: state.bytesDone, total: 0, width: width)]
        }
        let percent = percentText(state.bytesDone, of: state.bytesTotal)
        let bytes = "\(done) of \(ByteSize.format(state.bytesTotal))"
        let whole = [percent, bytes, rate, eta, files].compactMap { $0 }.joined(separator: "  ")
        if width - TerminalText.width(whole) - 3 >= narrowestBar {
            return [fit([(true, [whole])], done: state.bytesDone, total: state.bytesTotal, width: width)]
        }
        let first = fit([(true, [percent, bytes]), (false, [percent, bytes]), (false, [percent])], done: state.bytesDone, total: state.bytesTotal, width: width)
        let second = [[rate, eta, files], [rate, eta], [eta]].map { $0.compactMap { $0 } }.first { segments in
            TerminalText.width("  " + segments.joined(separator: "  ")) <= width
        }
        guard let second, !second.isEmpty else { return [first] }
        return [first, "  " + second.joined(separator: "  ")]
    }

    /// The first layout that fits in `width`, with a bar as wide as the room left allows (at most
    /// `widestBar` cells); the last one cut to fit when none does.
    private static func fit(_ layouts: [(bar: Bool, segments: [String])], done: Int64, total: Int64, width: Int) -> String {
        for layout in layouts {
            let text = layout.segments.joined(separator: "  ")
            let textWidth = TerminalText.width(text)
            if layout.bar {
                let room = width - textWidth - 3
                if room >= narrowestBar { return bar(done: done, total: total, cells: min(room, widestBar)) + " " + text }
            } else if textWidth <= width {
                return text
            }
        }
        return TerminalText.truncated(layouts.last.map { $0.segments.joined(separator: "  ") } ?? "", columns: width)
    }

    /// "[=====>    ]" with `cells` cells between the brackets.
    static func bar(done: Int64, total: Int64, cells: Int) -> String {
        let filled = total > 0 ? Int(min(max(Double(done) / Double(total), 0), 1) * Double(cells)) : 0
        if filled >= cells { return "[" + String(repeating: "=", count: cells) + "]" }
        return "[" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: cells - filled - 1) + "]"
    }

    /// " 48%", four columns wide, rounded down so that 100% means done.
    static func percentText(_ done: Int64, of total: Int64) -> String {
        let percent = total > 0 ? Int(min(max(Double(done) / Double(total), 0), 1) * 100) : 0
        let text = "\(percent)%"
        return String(repeating: " ", count: max(0, 4 - text.count)) + text
    }

    /// One line per file: "  name  45% of 260.0 MB", names padded to one column (the widest
    /// name, or what the width leaves) and shortened in the middle to fit it; the details are
    /// dropped when they would leave a name fewer than `narrowestName` columns.
    private static func fileLines(_ files: [ProgressState.File], width: Int) -> [String] {
        guard !files.isEmpty else { return [] }
        let names = files.map { PathSafety.escaped($0.path) }
        let details = files.map { file in
            if let size = file.size, size > 0 { return "\(percentText(file.bytes, of: size)) of \(ByteSize.format(size))" }
            return ByteSize.format(file.bytes)
        }
        let detailWidth = details.map { TerminalText.width($0) }.max() ?? 0
        let widestName = names.map { TerminalText.width($0) }.max() ?? 0
        let nameWidth = min(widestName, width - 4 - detailWidth)
        guard nameWidth >= min(widestName, narrowestName) else {
            return names.map { TerminalText.truncated("  " + TerminalText.middleShortened($0, columns: max(0, width - 2)), columns: width) }
        }
        return zip(names, details).map { name, detail in
            let shortened = TerminalText.middleShortened(name, columns: nameWidth)
            let padding = String(repeating: " ", count: nameWidth - TerminalText.width(shortened) + 2 + detailWidth - TerminalText.width(detail))
            return "  " + shortened + padding + detail
        }
    }

    /// The escapes that erase the lines drawn last time and draw `next` in their place: back to
    /// the start of the line, up over the rows `previous` took at `columns` (a line wider than
    /// the terminal, after a resize, takes more than one), then each line erased (`ESC [2K`) and
    /// drawn with its newline, so the cursor waits below the block; rows left over from a taller
    /// block are erased and the cursor goes back up over them. Each row is erased on its own, not
    /// with erase-below, which tmux (`scroll-on-clear`) would copy into its history whenever the
    /// block starts at the top of the screen.
    static func redraw(erasing previous: [String], columns: Int, drawing next: [String]) -> String {
        let rows = previous.reduce(0) { $0 + rowsTaken(by: $1, columns: columns) }
        var text = "\r"
        if rows > 0 { text += "\u{1B}[\(rows)A" }
        for line in next { text += "\u{1B}[2K" + line + "\n" }
        let leftover = rows - next.count
        if leftover > 0 { text += String(repeating: "\u{1B}[2K\n", count: leftover) + "\u{1B}[\(leftover)A" }
        return text
    }

    /// Rows a line of text takes on a terminal `columns` wide, which wraps what is wider.
    static func rowsTaken(by line: String, columns: Int) -> Int {
        let width = TerminalText.width(line)
        guard columns > 0, width > columns else { return 1 }
        return (width + columns - 1) / columns
    }

    /// "9s", "4m05s", "2h07m".
    static func duration(_ seconds: Double) -> String {
        let whole = seconds.isFinite ? Int(min(seconds, 3_600_000).rounded(.up)) : 3_600_000
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(whole % 60 < 10 ? "0" : "")\(whole % 60)s" }
        return "\(whole / 3600)h\((whole % 3600) / 60 < 10 ? "0" : "")\((whole % 3600) / 60)m"
    }
}
