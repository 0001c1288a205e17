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

    func run() throws {
        let console = global.console
        let context = try global.syncContext()
        let cache = StateCache.load(from: context.tree)
        let findings = TreeVerifier.verify(lock: context.lock, tree: context.tree, cache: cache)
        try? cache.save()
        let problems = findings.filter(\.isProblem)
        let unpinned = findings.filter { if case .unpinned = $0.outcome { return true }; return false }
        if global.json {
            console.data(JSONOutput.render(Record(checked: findings.count, problems: problems.map(\.message), unpinned: unpinned.map(\.path))))
        } else {
            var lines = problems.map(\.message)
            if !unpinned.isEmpty {
                lines.append("\(unpinned.count) file\(unpinned.count == 1 ? " has" : "s have") no pinned checksum in \(context.paths.lockDisplayName); their size was checked")
            }
            lines.append(problems.isEmpty
                ? "Verified \(findings.count) file\(findings.count == 1 ? "" : "s"): every byte matches \(context.paths.lockDisplayName)"
                : "\(problems.count) of \(findings.count) files do not match \(context.paths.lockDisplayName); `datapin sync` fetches them again")
            console.data(lines.joined(separator: "\n"))
        }
        if !problems.isEmpty { throw ExitCode(ExitStatus.different.rawValue) }
    }

    /// `verify --json` output.
    struct Record: Encodable {
        var checked: Int
        var problems: [String]
        var unpinned: [String]
    }
}
