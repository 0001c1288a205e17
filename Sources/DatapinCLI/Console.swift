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
    /// Every diagnostic the command has reported so far, for the `--json` document.
    let reported = ReportedDiagnostics.ofThisCommand

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

    /// The `--json` document of a command that ends with `status`: its `members` after the
    /// envelope, with every diagnostic reported so far.
    func document(_ members: OrderedJSON, status: ExitStatus = .ok) -> String {
        JSONOutput.document(members, status: status, diagnostics: reported.all)
    }

    /// The `--json` document of a command whose own members are `record`'s.
    func document<T: Encodable>(_ record: T, status: ExitStatus = .ok) -> String {
        JSONOutput.document(record, status: status, diagnostics: reported.all)
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

    /// Diagnostics on stderr, always (errors are never silenced by --quiet), each once however
    /// often a step hands it on; they are also kept for the `--json` document's `diagnostics`.
    func report(_ diagnostics: [Diagnostic]) {
        for diagnostic in reported.append(diagnostics) where !(quiet && diagnostic.severity == .warning) {
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
        if json { data(JSONOutput.document(.null, status: status, diagnostics: reported.all)) }
        return ExitCode(status.rawValue)
    }
}

/// The one shape of every `--json` document: `ok`, `exit_code` and `diagnostics` (warnings
/// included) first, then the command's own members, all written by `OrderedJSON`.
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

    /// The document for a command's `members`, ending with `status`, with `diagnostics`.
    static func document(_ members: OrderedJSON, status: ExitStatus, diagnostics: [Diagnostic]) -> String {
        let records = diagnostics.map { (try? OrderedJSONEncoder.encode(DiagnosticRecord($0))) ?? .null }
        var envelope: [(String, OrderedJSON)] = [("ok", .bool(status == .ok)), ("exit_code", .integer(Int64(status.rawValue))), ("diagnostics", .array(records))]
        switch members {
        case .object(let own): envelope += own.filter { member in !["ok", "exit_code", "diagnostics"].contains(member.0) }
        case .null: break
        default: envelope.append(("result", members))
        }
        return OrderedJSON.object(envelope).document
    }

    /// The document for an `Encodable` record of a command's own members.
    static func document<T: Encodable>(_ record: T, status: ExitStatus, diagnostics: [Diagnostic]) -> String {
        do {
            return document(try OrderedJSONEncoder.encode(record), status: status, diagnostics: diagnostics)
        } catch {
            return document(.null, status: .badInput, diagnostics: diagnostics + [Diagnostic(.error, (error as? OrderedJSONEncoder.Failure)?.message ?? "the JSON document could not be written")])
        }
    }
}

/// The diagnostics the command has reported, in order. A process runs one command and makes a
/// `Console` wherever it needs one, so there is one record per process.
final class ReportedDiagnostics: @unchecked Sendable {
    static let ofThisCommand = ReportedDiagnostics()

    private let lock = NSLock()
    private var diagnostics: [Diagnostic] = []
    private var seen: Set<String> = []

    /// Records `more` and returns those not reported before, in order.
    func append(_ more: [Diagnostic]) -> [Diagnostic] {
        lock.withLock {
            let new = more.filter { seen.insert($0.rendered()).inserted }
            diagnostics += new
            return new
        }
    }

    var all: [Diagnostic] { lock.withLock { diagnostics } }
}
