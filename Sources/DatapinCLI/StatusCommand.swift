import ArgumentParser
import DatapinKit
import Foundation

/// `datapin status`: how the local tree differs from datapin.lock, without changing either.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show missing, modified, partial and extra files under the destination.",
        discussion: "Unchanged files are trusted from the last sync's record without being read; `datapin verify` re-reads everything. With --shard, only that shard's files are checked and none is reported extra."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Exit 1 unless the tree matches the lock exactly.")
    var check = false

    @OptionGroup var shardOption: ShardOption

    func run() throws {
        let console = global.console
        let context = try global.syncContext()
        let shard = try shardOption.shard()
        let outcome = StatusRun(lock: context.lock, tree: context.tree, spec: context.loaded.spec, paths: context.paths, check: check, shard: shard).run()
        let status = outcome.status
        if global.json {
            console.data(console.document(Record(status, changedUpstream: outcome.changedUpstream), status: outcome.exitStatus))
        } else {
            let upstream = outcome.changedUpstream
            func note(_ path: String) -> String { upstream.contains(path) ? " (the archive served other bytes at the last sync)" : "" }
            var lines: [String] = []
            lines += status.missing.map { "missing   \(PathSafety.escaped($0.path))\(note($0.path))" }
            lines += status.partial.map { "partial   \(PathSafety.escaped($0.path))\(note($0.path))" }
            lines += status.modified.map { "modified  \(PathSafety.escaped($0.path)) (\($0.reason))\(note($0.path))" }
            lines += status.unplaced.map { "unplaced  \(PathSafety.escaped($0.path)) (\($0.reason))" }
            lines += status.extra.map { "extra     \(PathSafety.escaped($0))" }
            let summary = status.isClean
                ? "Clean: \(status.clean) file\(status.clean == 1 ? "" : "s") \(shard.map { "of shard \($0) " } ?? "")match \(context.paths.lockDisplayName)"
                : "\(status.clean) clean, \(status.missing.count) missing, \(status.partial.count) partial, \(status.modified.count) modified, \(status.unplaced.count) duplicates not in place, \(status.extra.count) extra; " + remedy(status, upstream: upstream, lock: context.lock)
            // --quiet keeps the per-file lines (the data) and drops the summary.
            let shown = global.quiet ? lines : lines + [summary]
            if !shown.isEmpty { console.data(shown.joined(separator: "\n")) }
        }
        console.report(outcome.diagnostics)
        if outcome.exitStatus != .ok { throw ExitCode(outcome.exitStatus.rawValue) }
    }

    /// What `sync` does about the differences, and what it cannot do: files the archive now
    /// serves changed need `lock --update` first.
    private func remedy(_ status: TreeStatus, upstream: Set<String>, lock: Lockfile) -> String {
        let fetchable = status.missing.count + status.partial.count + status.modified.count - upstream.count
        var parts: [String] = []
        if fetchable > 0 || status.unplaced.count > 0 || upstream.isEmpty {
            parts.append("`datapin sync` fetches the missing, partial and modified files again from the archive and places the duplicates (extra files stay unless `--prune`)")
        }
        if !upstream.isEmpty {
            let datasets = Set(lock.files.filter { upstream.contains($0.path) }.map(\.dataset)).sorted().map(PathSafety.escaped)
            let count = upstream.count
            parts.append("\(count) file\(count == 1 ? "" : "s") the archive now serves changed, which `datapin sync` cannot place as locked: `datapin outdated` shows what changed, `datapin lock --update \(datasets.joined(separator: " "))` takes the new version\(count == 1 ? "" : "s")")
        }
        return parts.joined(separator: "; ")
    }

    /// `status --json` output.
    struct Record: Encodable {
        struct Difference: Encodable {
            var path: String
            var reason: String
        }
        var clean: Int
        var missing: [String]
        var partial: [String]
        var modified: [Difference]
        var unplaced: [Difference]
        var extra: [String]
        var changedUpstream: [String]
        var isClean: Bool

        init(_ status: TreeStatus, changedUpstream: Set<String>) {
            clean = status.clean
            missing = status.missing.map(\.path)
            partial = status.partial.map(\.path)
            modified = status.modified.map { Difference(path: $0.path, reason: $0.reason) }
            unplaced = status.unplaced.map { Difference(path: $0.path, reason: $0.reason) }
            extra = status.extra
            self.changedUpstream = changedUpstream.sorted()
            isClean = status.isClean
        }

        enum CodingKeys: String, CodingKey {
            case clean, missing, partial, modified, unplaced, extra
            case changedUpstream = "changed_upstream"
            case isClean = "is_clean"
        }
    }
}
