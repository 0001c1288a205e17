import ArgumentParser
import DatapinKit
import Foundation

/// `datapin sync`: make the destination tree exactly what datapin.lock says.
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Download what is missing or changed, verified, so the tree matches datapin.lock.",
        discussion: """
        Only missing, changed or interrupted files are fetched; every byte is checked against the \
        lock before a file reaches its final path. Files locked without a checksum get the one \
        datapin observed when it downloaded and verified them written into datapin.lock \
        ("pinned"); files already in place that datapin did not download here are kept by their \
        size and stay unpinned. --frozen never changes datapin.lock and fails when it is stale or \
        lists any file without a checksum, judged from the lock alone (for CI). --prune \
        removes files under the destination that the lock does not list, never when a transfer \
        failed, and at most --max-delete of them. --shard K/N syncs only a deterministic 1/N of \
        the lock (by each file's path), so the N tasks of a job array on shared storage, run at \
        the same time, together place every file once; pins from every shard reach datapin.lock, \
        and the next unsharded sync writes the manifest and takes in the shards' state.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Transfers at once (at most 6 to one host).")
    var jobs = 8

    @Flag(help: "Print what would be done, with byte totals, and change nothing.")
    var dryRun = false

    @Flag(help: "Never change datapin.lock; fail if it is stale or lists a file without a checksum (for CI).")
    var frozen = false

    @Flag(help: "Remove files under the destination that the lock does not list.")
    var prune = false

    @Option(help: "With --prune, remove at most this many files; more is an error.")
    var maxDelete = 20

    @OptionGroup var shardOption: ShardOption

    @Option(help: ArgumentHelp("How verified bytes reach the disk before their final name points at them: one syncfs per batch, one fdatasync per file, or no flush (see the README on power cuts).", valueName: "batched|file|none"))
    var durability: Durability = .batched

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs takes a number from 1 to 64") }
        guard maxDelete >= 0 else { throw ValidationError("--max-delete takes a number, 0 or more") }
    }

    func run() throws {
        let console = global.console
        try global.checkNetworkLimits()
        let context = try global.syncContext()
        let paths = context.paths
        // Credentials: how each archive's requests are authenticated, and what to say when a
        // file is refused or skipped for want of them.
        let credentials = context.archives.mapValues { ArchiveCredentials.resolve($0) }
        let tokenVariables = credentials.compactMapValues(\.origin)
        let lockDirectory = paths.directory
        let advice = SyncRun.CredentialAdvice(
            problems: { archives in ArchiveCredentials.problems(in: credentials, archives: archives).map { Diagnostic(.error, "archive '\($0.archive)': \($0.failure.message)") } },
            refusedCredential: { archives in
                let variables = archives.compactMap { tokenVariables[$0] }.sorted()
                return variables.isEmpty ? "the token" : variables.joined(separator: ", ")
            },
            missingCredentialHint: { skipped in
                let variables = Set(skipped.compactMap { credentials[$0.archive]?.missingVariable })
                return variables.isEmpty ? "configure `token_env:` for the archive and set that variable" : "set \(variables.sorted().joined(separator: ", "))"
            })
        let source: (LockEntry) -> DownloadSource? = { entry in
            let archive = credentials[entry.archive] ?? ArchiveCredentials()
            if entry.access == .exclusive && !archive.hasToken { return nil }
            return archive.downloadSource(for: entry, lockDirectory: lockDirectory)
        }

        let options = SyncRun.Options(jobs: jobs, dryRun: dryRun, frozen: frozen, prune: prune, maxDelete: maxDelete, shard: try shardOption.shard(), durability: durability)
        let sync = SyncRun(options: options, lock: context.lock, tree: context.tree, spec: context.loaded.spec, paths: paths, advice: advice, afterSync: { report, lock in
            guard context.loaded.spec.manifest else { return [] }
            return writeManifest(context: context, lock: lock, report: report, credentials: credentials, users: { loggedInUsers(context: context, lock: lock, credentials: credentials) })
        }, source: source)
        let progress = SyncProgress(style: SyncProgress.style(for: global), verbose: global.verbose)
        var interruption: Interruption?
        let outcome = sync.run(notify: { notice in
            switch notice {
            case .info(let text): console.info(text)
            case .diagnostics(let diagnostics): console.report(diagnostics)
            case .transfersStarting(let files, let bytes):
                progress.start(totalFiles: files, totalBytes: bytes)
                interruption = Interruption { sync.cancel() }
            case .transfersEnded:
                progress.finish()
                interruption?.disarm()
            }
        }, events: { progress.handle($0) })
        try show(outcome, progress: progress, console: console)
    }

    /// Prints what the run did and ends the command with its exit status.
    private func show(_ outcome: SyncOutcome, progress: SyncProgress, console: Console) throws {
        switch outcome.result {
        case .refused:
            throw console.fail(outcome.diagnostics, status: outcome.status)
        case .planned(let plan):
            console.report(outcome.diagnostics)
            printDryRun(PlanSummary(plan), console: console)
        case .synced:
            console.report(outcome.diagnostics)
            if let summary = outcome.summary {
                progress.emit(["event": "summary", "files_placed": summary.filesPlaced, "files_kept": summary.filesKept, "bytes": summary.bytes,
                               "seconds": summary.seconds, "pinned": summary.pinned, "failed": summary.failed, "refused": summary.refused, "interrupted": summary.interrupted,
                               "skipped": summary.skipped, "pruned": summary.pruned, "duplicates_placed": summary.duplicatesPlaced])
            }
            for message in outcome.messages { console.info(message) }
        }
        if outcome.status != .ok { throw ExitCode(outcome.status.rawValue) }
    }

    /// Who each archive with a token and locked files was fetched as, by archive name, as the
    /// archive itself says (MAST's /whoami); archives that cannot say are left out.
    private func loggedInUsers(context: SyncContext, lock: Lockfile, credentials: [String: ArchiveCredentials]) -> [String: String] {
        let lockedArchives = Set(lock.files.map(\.archive))
        var users: [String: String] = [:]
        for (name, archive) in credentials where archive.hasToken && lockedArchives.contains(name) {
            guard let config = context.archives[name] else { continue }
            if let user = ArchiveIdentity.loggedInUser(config: config, credentials: archive) { users[name] = user }
        }
        return users
    }

    private func printDryRun(_ summary: PlanSummary, console: Console) {
        if global.json {
            console.data(console.document(summary.record))
            return
        }
        var lines: [String] = []
        for transfer in summary.transfers {
            lines.append("\(transfer.verb) \(PathSafety.escaped(transfer.entry.path)) (\(transfer.entry.size.map(ByteSize.format) ?? "size unknown"))\(transfer.detail.map { ": \($0)" } ?? "")")
        }
        for move in summary.moves { lines.append("move \(PathSafety.escaped(move.from)) to \(PathSafety.escaped(move.path))") }
        for place in summary.places { lines.append("\(place.mode == .link ? "link" : "copy") \(place.path) from \(place.owner)") }
        for prune in summary.prunes { lines.append("remove \(PathSafety.escaped(prune.path)) (\(ByteSize.format(prune.size)))") }
        lines.append("Would fetch \(summary.transfers.count) file\(summary.transfers.count == 1 ? "" : "s") (\(ByteSize.format(summary.bytesToTransfer))), move \(summary.moves.count) already here, place \(summary.places.count) duplicates, remove \(summary.prunes.count); \(summary.kept) already in place")
        console.data(lines.joined(separator: "\n"))
    }
}

/// A sync plan in the terms `--dry-run` and the progress display need.
struct PlanSummary {
    struct Transfer {
        var verb: String
        var entry: LockEntry
        var detail: String?
    }

    var transfers: [Transfer] = []
    /// Locked files that are already in the tree at another path, moved instead of fetched.
    var moves: [(path: String, from: String)] = []
    var places: [(path: String, owner: String, mode: DuplicatePolicy)] = []
    var prunes: [(path: String, size: Int64)] = []
    var kept: Int
    var bytesToTransfer: Int64

    init(_ plan: SyncPlan) {
        kept = plan.counts.keep
        bytesToTransfer = plan.bytesToTransfer
        for action in plan.actions {
            switch action {
            case .keep: break
            case .download(let entry): transfers.append(Transfer(verb: "fetch", entry: entry))
            case .resume(let entry, let bytes): transfers.append(Transfer(verb: "resume", entry: entry, detail: "\(ByteSize.format(bytes)) already here"))
            case .replace(let entry, let reason): transfers.append(Transfer(verb: "replace", entry: entry, detail: reason))
            case .move(let entry, let from): moves.append((entry.path, from))
            case .place(let entry, let path, let mode): places.append((path, entry.path, mode))
            case .prune(let path, let size): prunes.append((path, size))
            }
        }
    }

    struct Record: Encodable {
        struct Item: Encodable {
            var action: String
            var path: String
            var size: Int64?
            var detail: String?
        }
        var actions: [Item]
        var bytesToTransfer: Int64
        var kept: Int

        enum CodingKeys: String, CodingKey {
            case actions, kept
            case bytesToTransfer = "bytes_to_transfer"
        }
    }

    var record: Record {
        var items = transfers.map { Record.Item(action: $0.verb, path: $0.entry.path, size: $0.entry.size, detail: $0.detail) }
        items += moves.map { Record.Item(action: "move", path: $0.path, size: nil, detail: "from \($0.from)") }
        items += places.map { Record.Item(action: $0.mode == .link ? "link" : "copy", path: $0.path, size: nil, detail: "from \($0.owner)") }
        items += prunes.map { Record.Item(action: "remove", path: $0.path, size: $0.size, detail: nil) }
        return Record(actions: items, bytesToTransfer: bytesToTransfer, kept: kept)
    }
}

/// Turns Ctrl-C (SIGINT) and SIGTERM into a prompt, clean stop while transfers run: `stop` is
/// called (it cancels the transfers), partial files stay for the next run to resume, and the
/// command exits 130.
final class Interruption: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    init(stop: @escaping @Sendable () -> Void) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: stop)
            source.resume()
            sources.append(source)
        }
    }

    func disarm() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

extension Durability: ExpressibleByArgument {}
