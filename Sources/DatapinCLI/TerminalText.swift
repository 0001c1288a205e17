/// How many terminal columns text takes, and how to make it fit: East Asian wide and fullwidth
/// characters and emoji take two, combining marks none, everything else one (a simplified
/// `wcwidth`, decided per grapheme cluster, so a flag or a family emoji counts once).
enum TerminalText {
    /// The columns `text` takes.
    static func width(_ text: some StringProtocol) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    /// The columns one grapheme cluster takes: 0, 1 or 2.
    static func width(of character: Character) -> Int {
        var widest = 0
        for scalar in character.unicodeScalars {
            // VARIATION SELECTOR-16 asks for the emoji presentation, two columns wide.
            if scalar.value == 0xFE0F { return 2 }
            widest = max(widest, width(of: scalar))
            if widest == 2 { break }
        }
        return widest
    }

    private static func width(of scalar: Unicode.Scalar) -> Int {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control:
            return 0
        default:
            break
        }
        if properties.isEmojiPresentation { return 2 }
        return wideRanges.contains { $0.contains(scalar.value) } ? 2 : 1
    }

    /// East Asian Wide (W) and Fullwidth (F) blocks.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
        0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
        0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
        0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    /// The longest beginning of `text` that fits in `columns`.
    static func prefix(_ text: String, columns: Int) -> String {
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let next = used + width(of: text[index])
            if next > columns { break }
            used = next
            end = text.index(after: index)
        }
        return String(text[..<end])
    }

    /// The longest ending of `text` that fits in `columns`.
    static func suffix(_ text: String, columns: Int) -> String {
        var used = 0
        var start = text.endIndex
        while start > text.startIndex {
            let previous = text.index(before: start)
            let next = used + width(of: text[previous])
            if next > columns { break }
            used = next
            start = previous
        }
        return String(text[start...])
    }

    /// `text` cut at the end to fit in `columns`, with "…" where it was cut.
    static func truncated(_ text: String, columns: Int) -> String {
        guard width(text) > columns else { return text }
        guard columns > 0 else { return "" }
        return prefix(text, columns: columns - 1) + "…"
    }

    /// `text` shortened in the middle to fit in `columns` ("obs/jw0123…_cal.fits"), keeping
    /// rather more of the end, where a file name's suffix is.
    static func middleShortened(_ text: String, columns: Int) -> String {
        guard width(text) > columns else { return text }
        guard columns > 1 else { return columns == 1 ? "…" : "" }
        let head = (columns - 1) / 2
        let start = prefix(text, columns: head)
        let end = suffix(text, columns: columns - 1 - width(start))
        return start + "…" + end
    }
}
