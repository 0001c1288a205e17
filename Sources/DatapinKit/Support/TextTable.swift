import Foundation

/// Columns of text aligned for a terminal, as `ls` and `products` print them: every cell but the
/// last of a row padded to its column's widest cell, two spaces between columns.
package enum TextTable {
    /// The header and rows, each line starting with `indent` and ending with a newline.
    package static func render(header: [String], rows: [[String]], indent: String = "  ") -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        var out = ""
        for row in [header] + rows {
            let cells = row.enumerated().map { column, cell in column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) }
            out += indent + cells.joined(separator: "  ") + "\n"
        }
        return out
    }
}
