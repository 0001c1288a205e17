@testable import DatapinCLI
import Foundation

/// A terminal `columns` wide, enough of one to replay what datapin writes to stderr: printable
/// text (wrapping at the right edge, as xterm does, once a character no longer fits), `\r`, `\n`,
/// and the escapes cursor up (`ESC [ n A`), erase below (`ESC [ J`) and erase line
/// (`ESC [ K`, `ESC [ 2K`). No row scrolls away, so `rows` is the screen and its scrollback.
struct TerminalScreen {
    let columns: Int
    private(set) var rows: [[Character]] = [[]]
    private var row = 0
    private var column = 0
    /// Rows that held more than `columns` characters' worth of text: never, on this terminal.
    private(set) var wrapped = 0

    init(columns: Int) {
        self.columns = columns
    }

    /// Text left on the screen, one string per row, trailing blank rows dropped.
    var text: [String] {
        var lines = rows.map { String($0).replacingOccurrences(of: "\u{0}", with: " ") }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        return lines
    }

    mutating func feed(_ output: String) {
        var characters = output[...]
        while let character = characters.popFirst() {
            switch character {
            case "\r": column = 0
            case "\n", "\r\n": newLine()
            case "\u{1B}":
                guard characters.first == "[" else { continue }
                characters.removeFirst()
                var parameter = ""
                while let next = characters.first, next.isNumber { parameter.append(next); characters.removeFirst() }
                guard let command = characters.popFirst() else { return }
                escape(command, Int(parameter))
            default:
                put(character)
            }
        }
    }

    private mutating func newLine() {
        row += 1
        column = 0
        while rows.count <= row { rows.append([]) }
    }

    private mutating func put(_ character: Character) {
        let width = TerminalText.width(of: character)
        if column + width > columns {
            wrapped += 1
            newLine()
        }
        while rows[row].count < column { rows[row].append(" ") }
        if rows[row].count > column {
            rows[row].replaceSubrange(column..<min(rows[row].count, column + max(width, 1)), with: [character])
        } else {
            rows[row].append(character)
        }
        column += width
    }

    private mutating func escape(_ command: Character, _ parameter: Int?) {
        switch command {
        case "A":
            row = max(0, row - max(1, parameter ?? 1))
        case "J":
            rows[row].removeSubrange(min(column, rows[row].count)...)
            rows.removeSubrange((row + 1)...)
        case "K":
            if parameter == 2 { rows[row] = [] } else { rows[row].removeSubrange(min(column, rows[row].count)...) }
        default:
            break
        }
    }
}
