import Foundation

/// One problem found in a file the user wrote or datapin generated, pointing at where it is.
/// Rendered as `file:line:col: error: message`, the offending line, and a caret under the column.
public struct Diagnostic: Error, Sendable, Hashable {
    /// How serious a diagnostic is: errors stop the command, warnings do not.
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    public var message: String
    public var location: SourceLocation?
    /// The text of the line at `location`, shown with a caret under the column.
    public var excerpt: String?
    /// Extra lines printed after the caret, such as "note: the other file is …".
    public var notes: [String]

    public init(_ severity: Severity = .error, _ message: String, at location: SourceLocation? = nil, excerpt: String? = nil, notes: [String] = []) {
        self.severity = severity
        self.message = message
        self.location = location
        self.excerpt = excerpt
        self.notes = notes
    }

    /// The diagnostic as a compiler prints it, without a trailing newline.
    public func rendered() -> String {
        var lines: [String] = []
        if let location {
            lines.append("\(location): \(severity.rawValue): \(message)")
            if let excerpt {
                let (shown, caret) = Self.clipped(Array(excerpt.replacingOccurrences(of: "\t", with: " ")), caret: location.column - 1)
                lines.append("    " + shown)
                lines.append("    " + String(repeating: " ", count: caret) + "^")
            }
        } else {
            lines.append("\(severity.rawValue): \(message)")
        }
        lines.append(contentsOf: notes.map { "    note: " + $0 })
        return lines.joined(separator: "\n")
    }

    /// The most of a quoted line shown: a longer one (a minified file, a YAML bomb of one line)
    /// is cut to this many characters around the column, with `…` where text was left out.
    static let excerptWidth = 120

    /// `line` cut to `excerptWidth` characters around `caret` (0-based), and the caret's column in it.
    static func clipped(_ line: [Character], caret: Int) -> (text: String, caret: Int) {
        let caret = max(0, min(caret, line.count))
        guard line.count > excerptWidth else { return (String(line), caret) }
        let start = max(0, min(caret - excerptWidth / 2, line.count - excerptWidth))
        let end = min(line.count, start + excerptWidth)
        let prefix = start > 0 ? "…" : ""
        let suffix = end < line.count ? "…" : ""
        return (prefix + String(line[start..<end]) + suffix, caret - start + prefix.count)
    }
}

/// Several diagnostics found in one pass over a file; thrown when any of them is an error.
public struct DiagnosticList: Error, Sendable {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
}

/// The lines of a text file, for quoting a line under a diagnostic.
public struct SourceText: Sendable {
    public let path: String
    public let lines: [Substring]

    public init(path: String, text: String) {
        self.path = path
        self.lines = Self.lines(of: text)
    }

    /// The lines of `text`, without their endings. A line ends at every LF, CRLF included:
    /// split as characters, `\r\n` is one character, and a CRLF file would be one line.
    public static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }

    /// The text of 1-based line `number`, without its line ending.
    public func line(_ number: Int) -> String? {
        guard number >= 1, number <= lines.count else { return nil }
        return String(lines[number - 1])
    }

    /// A diagnostic at `location` with that line quoted under it.
    public func diagnostic(_ severity: Diagnostic.Severity = .error, _ message: String, at location: SourceLocation, notes: [String] = []) -> Diagnostic {
        Diagnostic(severity, message, at: location, excerpt: line(location.line), notes: notes)
    }
}

/// Finds the known word nearest to a misspelt one, for "did you mean …?" hints.
public enum Suggestion {
    /// The candidate within a small edit distance of `word`, or nil when none is close.
    public static func nearest(to word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        guard let (candidate, distance) = best else { return nil }
        let limit = max(2, min(word.count, candidate.count) / 3)
        let prefixMatch = candidate.lowercased().hasPrefix(lowered) || lowered.hasPrefix(candidate.lowercased())
        return distance <= limit || (prefixMatch && lowered.count >= 3) ? candidate : nil
    }

    /// Levenshtein distance over characters.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
