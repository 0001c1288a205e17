import ArgumentParser
import DatapinKit
import Foundation

/// Where a command's words go: data to stdout, messages and diagnostics to stderr,
/// coloured only on a terminal that wants it.
struct Console {
    let quiet: Bool
    let verbose: Bool
    let json: Bool
    let colorErrors: Bool

    init(options: GlobalOptions) {
        quiet = options.quiet
        verbose = options.verbose
        json = options.json
        let environment = ProcessInfo.processInfo.environment
        switch options.color {
        case .always: colorErrors = true
        case .never: colorErrors = false
        case .auto:
            colorErrors = isatty(STDERR_FILENO) == 1 && environment["NO_COLOR"].map(\.isEmpty) ?? true && environment["TERM"] != "dumb"
        }
    }

    /// Data for the user or a program: tables, CSV, JSON.
    func data(_ text: String) {
        FileHandle.standardOutput.write(Data((text.utf8.last == UInt8(ascii: "\n") ? text : text + "\n").utf8))
    }

    /// A human message on stderr, unless `--quiet` or `--json`.
    func info(_ text: String) {
        guard !quiet, !json else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Diagnostics on stderr, always (errors are never silenced by --quiet).
    func report(_ diagnostics: [Diagnostic]) {
        for diagnostic in diagnostics where !(quiet && diagnostic.severity == .warning) {
            var text = diagnostic.rendered()
            if colorErrors {
                let label = diagnostic.severity.rawValue + ":"
                let colour = diagnostic.severity == .error ? "\u{1B}[1;31m" : "\u{1B}[1;33m"
                if let range = text.range(of: label) {
                    text.replaceSubrange(range, with: colour + label + "\u{1B}[0m")
                }
            }
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Reports diagnostics (and, with --json, a JSON error document on stdout) and returns the
    /// error that ends the command with `status`.
    func fail(_ diagnostics: [Diagnostic], status: ExitStatus) -> ExitCode {
        report(diagnostics)
        if json {
            data(JSONOutput.render(JSONOutput.Failure(exitCode: status.rawValue, diagnostics: diagnostics.map(JSONOutput.DiagnosticRecord.init))))
        }
        return ExitCode(status.rawValue)
    }
}

/// JSON documents printed by `--json`, with stable key order.
enum JSONOutput {
    struct DiagnosticRecord: Encodable {
        var severity: String
        var message: String
        var file: String?
        var line: Int?
        var column: Int?
        var notes: [String]

        init(_ diagnostic: Diagnostic) {
            severity = diagnostic.severity.rawValue
            message = diagnostic.message
            file = diagnostic.location?.file
            line = diagnostic.location?.line
            column = diagnostic.location?.column
            notes = diagnostic.notes
        }
    }

    struct Failure: Encodable {
        var ok = false
        var exitCode: Int32
        var diagnostics: [DiagnosticRecord]

        enum CodingKeys: String, CodingKey {
            case ok, diagnostics
            case exitCode = "exit_code"
        }
    }

    static func render<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
