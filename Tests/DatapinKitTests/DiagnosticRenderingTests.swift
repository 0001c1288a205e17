import Testing
import DatapinKit
@testable import DatapinSupport

/// How a diagnostic quotes its line: whole when short, cut around the column when long, and
/// found by line number in files with CRLF line ends too.
@Suite struct DiagnosticRenderingTests {
    @Test func aShortLineIsQuotedWholeWithTheCaretUnderTheColumn() {
        let source = SourceText(path: "datapin.yaml", text: "version: 1\nlayout: nestd\n")
        let rendered = source.diagnostic(.error, "invalid layout", at: SourceLocation(file: "datapin.yaml", line: 2, column: 9)).rendered()
        #expect(rendered == "datapin.yaml:2:9: error: invalid layout\n    layout: nestd\n            ^")
    }

    @Test func aLongLineIsCutAroundTheColumnAndTheCaretStillPointsAtIt() {
        let line = String(repeating: "[", count: 100_000)
        let source = SourceText(path: "datapin.lock", text: line + "\n")
        let rendered = source.diagnostic(.error, "too deep", at: SourceLocation(file: "datapin.lock", line: 1, column: 65)).rendered()
        let lines = rendered.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[1].count <= 4 + Diagnostic.excerptWidth + 2, "the quoted line is cut")
        #expect(lines[1].hasPrefix("    …") && lines[1].hasSuffix("…"))
        #expect(lines[2].count - 1 - 4 == Diagnostic.excerptWidth / 2 + 1, "column 65 sits in the middle of the window, after the …")

        let early = source.diagnostic(.error, "here", at: SourceLocation(file: "datapin.lock", line: 1, column: 3)).rendered()
        let earlyLines = early.split(separator: "\n").map(String.init)
        #expect(earlyLines[1].hasPrefix("    [[") && earlyLines[1].hasSuffix("…"), "nothing is cut before an early column")
        #expect(earlyLines[2] == "      ^")

        let late = source.diagnostic(.error, "here", at: SourceLocation(file: "datapin.lock", line: 1, column: 90_000)).rendered()
        let lateLines = late.split(separator: "\n").map(String.init)
        #expect(lateLines[1].hasPrefix("    …") && lateLines[1].hasSuffix("…"))
        let caret = lateLines[2].count - 1
        #expect(Array(lateLines[1])[caret] == "[", "the caret stays on the quoted text")
        #expect(caret - 4 == Diagnostic.excerptWidth / 2 + 1, "the column sits in the middle of the window, after the …")
    }

    @Test func linesOfACRLFFileAreFoundByNumber() {
        let source = SourceText(path: "datapin.yaml", text: "version: 1\r\nlayout: nestd\r\ndestination: data\r\n")
        #expect(source.line(1) == "version: 1")
        #expect(source.line(2) == "layout: nestd")
        #expect(source.line(3) == "destination: data")
        #expect(source.line(4) == "")
        #expect(source.line(5) == nil)
    }
}
