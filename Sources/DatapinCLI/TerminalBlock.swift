import Foundation

/// The width of the terminal a file descriptor writes to.
enum TerminalWidth {
    /// Columns of the terminal behind `descriptor` (TIOCGWINSZ), asked anew on every call so
    /// that a resize is seen at the next redraw; else `COLUMNS`; else 80.
    static func columns(of descriptor: Int32 = STDERR_FILENO) -> Int {
        var size = winsize()
        if ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }
}

/// A few lines at the bottom of a terminal, redrawn in place: each draw moves the cursor up over
/// the lines drawn last time, erases them and draws the new ones (`ProgressRenderer.redraw`), so
/// no stale line is left, whatever the width. Lines are rendered one column narrower than the
/// terminal, so a character whose width the terminal judges wider than `TerminalText` does
/// cannot wrap a line. Not thread-safe: its owner serialises calls.
final class TerminalBlock {
    private var drawn: [String] = []
    private let columns: () -> Int
    private let write: (String) -> Void

    init(columns: @escaping () -> Int = { TerminalWidth.columns() },
         write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.columns = columns
        self.write = write
    }

    /// Replaces the block with what `render` gives for the width to draw at.
    func draw(_ render: (_ width: Int) -> [String]) {
        let columns = self.columns()
        let lines = render(max(1, columns - 1))
        write(ProgressRenderer.redraw(erasing: drawn, columns: columns, drawing: lines))
        drawn = lines
    }

    /// Erases the block, leaving the cursor where it began.
    func clear() {
        guard !drawn.isEmpty else { return }
        write(ProgressRenderer.redraw(erasing: drawn, columns: columns(), drawing: []))
        drawn = []
    }

    /// Erases the block and prints `text` (a message that stays) where it was; the next `draw`
    /// puts the block back below it.
    func printAbove(_ text: String) {
        write(ProgressRenderer.redraw(erasing: drawn, columns: columns(), drawing: [text]))
        drawn = []
    }
}
