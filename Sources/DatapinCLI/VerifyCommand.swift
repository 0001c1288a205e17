import ArgumentParser
import DatapinKit
import Foundation

/// `datapin verify`: re-hash every local file against datapin.lock, trusting nothing.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-read every locked file and check its size and checksums; exit 1 naming each one that differs."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var shardOption: ShardOption

    func run() throws {
        let console = global.console
        let context = try global.syncContext()
        let outcome = VerifyRun(lock: context.lock, tree: context.tree, shard: try shardOption.shard()).run()
        let problems = outcome.problems
        if global.json {
            console.data(console.document(Record(checked: outcome.checked, problems: problems.map(\.message), unpinned: outcome.unpinned), status: outcome.exitStatus))
        } else {
            var lines = problems.map(\.message)
            if !outcome.unpinned.isEmpty {
                lines.append("\(outcome.unpinned.count) file\(outcome.unpinned.count == 1 ? " has" : "s have") no pinned checksum in \(context.paths.lockDisplayName); their size was checked")
            }
            let sizeOnly = outcome.unpinned.count
            lines.append(problems.isEmpty
                ? (sizeOnly == 0
                    ? "Verified \(outcome.checked) file\(outcome.checked == 1 ? "" : "s"): every byte matches \(context.paths.lockDisplayName)"
                    : "Verified \(outcome.checked) file\(outcome.checked == 1 ? "" : "s"): \(outcome.checked - sizeOnly) match \(context.paths.lockDisplayName) byte for byte, \(sizeOnly) by size only (run `datapin sync` to pin them)")
                : "\(problems.count) of \(outcome.checked) file\(outcome.checked == 1 ? "" : "s") do\(outcome.checked == 1 ? "es" : "") not match \(context.paths.lockDisplayName); `datapin sync` fetches them again")
            // --quiet keeps the problems (the data) and drops the summary lines.
            let shown = global.quiet ? problems.map(\.message) : lines
            if !shown.isEmpty { console.data(shown.joined(separator: "\n")) }
        }
        if outcome.exitStatus != .ok { throw ExitCode(outcome.exitStatus.rawValue) }
    }

    /// `verify --json` output.
    struct Record: Encodable {
        var checked: Int
        var problems: [String]
        var unpinned: [String]
    }
}
