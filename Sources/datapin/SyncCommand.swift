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
        failed, and at most --max-delete of them.
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

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs takes a number from 1 to 64") }
        guard maxDelete >= 0 else { throw ValidationError("--max-delete takes a number, 0 or more") }
    }

    func run() throws {
        let console = global.console
        try global.checkNetworkLimits()
        var context = try global.syncContext()
        let paths = context.paths
        try refuseClashingPaths(in: context.lock, spec: context.loaded.spec, console: console, paths: paths)
        if context.lockIsStale {
            if frozen {
                throw console.fail([Diagnostic(.error, "\(paths.lockDisplayName) is stale: \(paths.specDisplayName) changed since it was locked; run `datapin lock` and commit the result")], status: .different)
            }
            console.report([Diagnostic(.warning, "\(paths.lockDisplayName) is stale against \(paths.specDisplayName); syncing the lock as it is. Run `datapin plan` to see what `datapin lock` would change")])
        }

        let syncLock: SyncLock
        do {
            syncLock = try SyncLock.acquire(in: context.tree) { holder in
                console.info("waiting for another sync of this tree to finish (\(holder))")
            }
        } catch {
            throw console.fail([Diagnostic(.error, "cannot lock \(context.tree.stateDirectory.path) for this sync: \(error.message)")], status: .transferFailed)
        }
        defer { syncLock.release() }

        let journal = PinJournal(stateDirectory: context.tree.stateDirectory)
        var pinned = 0
        if !frozen && !dryRun {
            let folded = try foldPins(from: journal, into: context.lock, tree: context.tree, paths: paths, console: console)
            context.lock = folded.lock
            pinned += folded.pinned
        }
        let cache = StateCache.load(from: context.tree)
        let plan: SyncPlan
        do {
            plan = try SyncPlanner(lock: context.lock, tree: context.tree, cache: cache, duplicates: context.loaded.spec.duplicates).plan(prune: prune)
        } catch {
            throw console.fail([Diagnostic(.error, error.message)], status: .badInput)
        }
        let summary = PlanSummary(plan)
        if prune && summary.prunes.count > maxDelete {
            throw console.fail([Diagnostic(.error, "--prune would remove \(summary.prunes.count) files, more than --max-delete \(maxDelete); nothing was changed", notes: summary.prunes.prefix(5).map { "would remove \(PathSafety.escaped($0.path))" } + ["run `datapin sync --dry-run --prune` to see them all, and `--max-delete \(summary.prunes.count)` to allow it"])], status: .badInput)
        }
        if frozen {
            try refuseUnpinned(in: context.lock, fetchedEarlier: journal.awaitingPins(in: context.lock), console: console, paths: paths)
        }
        if dryRun {
            printDryRun(summary, console: console)
            return
        }

        let credentials = context.archives.mapValues { ArchiveCredentials.resolve($0) }
        let credentialProblems = ArchiveCredentials.problems(in: credentials, archives: Set(summary.transfers.map(\.entry.archive)))
        if !credentialProblems.isEmpty {
            throw console.fail(credentialProblems.map { Diagnostic(.error, "archive '\($0.archive)': \($0.failure.message)") }, status: .credentials)
        }
        let lockDirectory = paths.directory
        do {
            try journal.recordFetches(summary.unpinned)
        } catch {
            throw console.fail([Diagnostic(.error, "cannot record which files this sync pins, so nothing was fetched: \(error.message)")], status: .transferFailed)
        }
        let unpinnable = journal.recordKept(plan.unpinnedKeeps, tree: context.tree, cache: cache)
        if !unpinnable.isEmpty {
            let count = unpinnable.count
            console.report([Diagnostic(.warning, "\(count) file\(count == 1 ? " is" : "s are") in place and kept by \(count == 1 ? "its" : "their") size, but not pinned: datapin did not download \(count == 1 ? "it" : "them") into this tree (or \(count == 1 ? "it" : "they") changed since), so it cannot vouch for \(count == 1 ? "its" : "their") bytes; to pin \(count == 1 ? "it" : "them"), delete \(count == 1 ? "it" : "them") and run `datapin sync`", notes: unpinnable.prefix(5).map { "not pinned: \(PathSafety.escaped($0.path))" })])
        }
        let executor = SyncExecutor(tree: context.tree, cache: cache, engine: TransferEngine(maxConcurrent: jobs), journal: journal, source: { entry in
            let archive = credentials[entry.archive] ?? ArchiveCredentials()
            if entry.access == .exclusive && !archive.hasToken { return nil }
            return DownloadSource(url: entry.downloadURL(lockDirectory: lockDirectory), credentials: archive.source, credentialHosts: archive.hosts)
        })
        let progress = SyncProgress(style: SyncProgress.style(for: global), totalFiles: summary.transfers.count, totalBytes: summary.bytesToTransfer)
        let interruption = Interruption(engine: executor.engine)
        let report = executor.run(plan) { progress.handle($0) }
        progress.finish()
        interruption.disarm()

        if !frozen {
            let folded = try foldPins(from: journal, into: context.lock, tree: context.tree, paths: paths, console: console)
            context.lock = folded.lock
            pinned += folded.pinned
        }
        // Records of paths the lock no longer lists are dropped; when there are no more records
        // than locked paths there is nothing worth the cost of looking.
        let lockedPathCount = context.lock.files.reduce(0) { $0 + 1 + $1.alsoPaths.count }
        if cache.count > lockedPathCount {
            cache.retainOnly(Set(context.lock.files.flatMap { [$0.path] + $0.alsoPaths }))
        }
        do {
            try cache.save()
        } catch {
            console.report([Diagnostic(.warning, "the sync state could not be saved, so the next sync re-reads the files: \(error.message)")])
        }
        if context.loaded.spec.manifest {
            writeManifest(context: context, report: report, credentials: credentials, users: { loggedInUsers(context: context, credentials: credentials) }, console: console)
        }
        finish(report: report, pinned: pinned, summary: summary, credentials: credentials, tokenVariables: credentials.compactMapValues(\.origin), lock: context.lock, progress: progress, console: console, interrupted: interruption.fired)
    }

    /// Who each archive with a token and locked files was fetched as, by archive name, as the
    /// archive itself says (MAST's /whoami); archives that cannot say are left out.
    private func loggedInUsers(context: SyncContext, credentials: [String: ArchiveCredentials]) -> [String: String] {
        let lockedArchives = Set(context.lock.files.map(\.archive))
        var users: [String: String] = [:]
        for (name, archive) in credentials where archive.hasToken && lockedArchives.contains(name) {
            guard let config = context.archives[name] else { continue }
            if let user = ArchiveIdentity.loggedInUser(config: config, credentials: archive) { users[name] = user }
        }
        return users
    }

    /// Folds the journal's pins into datapin.lock (`PinJournal.foldIntoLockFile`) and says what
    /// it did. Returns the lock as it now is.
    private func foldPins(from journal: PinJournal, into lock: Lockfile, tree: SyncTree, paths: ProjectPaths, console: Console) throws -> (lock: Lockfile, pinned: Int) {
        let folded: (lock: Lockfile, pinned: Int)
        do {
            folded = try journal.foldIntoLockFile(lock, tree: tree, lockFile: paths.lock)
        } catch {
            throw console.fail([Diagnostic(.error, "the files are in place, but \(paths.lockDisplayName) could not be updated with their checksums: \(error.message)", notes: ["the checksums are kept in \(journal.url.path); the next `datapin sync` writes them"])], status: .transferFailed)
        }
        if folded.pinned > 0 {
            console.info("pinned \(folded.pinned) checksum\(folded.pinned == 1 ? "" : "s"); commit \(paths.lockDisplayName)")
        }
        return folded
    }

    /// For --frozen: fails when the lock has a file without a checksum, whether this tree would
    /// fetch it, keeps it, or an earlier sync fetched it: decided from the lock alone, so a tree
    /// and a fresh clone of the same lock agree. A plain `datapin sync` pins every one of them.
    private func refuseUnpinned(in lock: Lockfile, fetchedEarlier: [LockEntry], console: Console, paths: ProjectPaths) throws {
        let unpinned = lock.files.filter { $0.sha256 == nil }
        guard !unpinned.isEmpty else { return }
        let count = unpinned.count
        let earlier = fetchedEarlier.isEmpty ? "" : " (\(fetchedEarlier.count) of them fetched by an earlier sync that stopped before writing \(fetchedEarlier.count == 1 ? "its checksum" : "their checksums"))"
        throw console.fail([Diagnostic(.error, "\(count) file\(count == 1 ? " is" : "s are") locked without a checksum and need\(count == 1 ? "s" : "") pinning\(earlier), which --frozen does not allow; run `datapin sync` without --frozen once and commit \(paths.lockDisplayName)", notes: unpinned.prefix(5).map { "unpinned: \(PathSafety.escaped($0.path))" })], status: .different)
    }

    /// Refuses, before anything is fetched, a lock whose paths cannot be laid out together in
    /// this destination by `LaidOutPaths` (with the spec's `manifest` and `case_sensitive`, which
    /// are not locked): one where the manifest is written, or two that differ only in case, which
    /// would be written over each other.
    private func refuseClashingPaths(in lock: Lockfile, spec: Spec, console: Console, paths: ProjectPaths) throws {
        let clashes = LaidOutPaths.clashes(among: lock.files.flatMap { [$0.path] + $0.alsoPaths }, manifest: spec.manifest, caseSensitive: spec.caseSensitive)
        guard !clashes.isEmpty else { return }
        throw console.fail(clashes.map { clash in
            switch clash {
            case .manifest(let path, _):
                return Diagnostic(.error, "\(paths.lockDisplayName) places '\(PathSafety.escaped(path))' at the top of the destination, where `manifest: true` writes the download manifest; nothing was fetched", notes: ["set `manifest: false` in \(paths.specDisplayName), or use `layout: nested` (or a template with a folder) and run `datapin lock` again"])
            case .caseOnly(let path, let earlier, let spelling, let earlierSpelling):
                let spellings = spelling == path ? "" : " ('\(PathSafety.escaped(earlierSpelling))' and '\(PathSafety.escaped(spelling))')"
                return Diagnostic(.error, "\(paths.lockDisplayName) places '\(PathSafety.escaped(earlier))' and '\(PathSafety.escaped(path))', which differ only in case\(spellings), so they would be one file on a case-insensitive file system (macOS, Windows); nothing was fetched", notes: ["set `case_sensitive: true` in \(paths.specDisplayName) if the destination's file system always tells names that differ in case apart; otherwise choose a layout that tells them apart and run `datapin lock` again"])
            }
        }, status: .badInput)
    }

    private func finish(report: SyncReport, pinned: Int, summary: PlanSummary, credentials: [String: ArchiveCredentials], tokenVariables: [String: String], lock: Lockfile, progress: SyncProgress, console: Console, interrupted: Bool) {
        let megabytesPerSecond = report.seconds > 0 ? Double(report.bytesTransferred) / report.seconds / 1_000_000 : 0
        let cancelled = report.failed.filter { $0.failure == .cancelled }.count
        let refused = report.failed.filter { if case .unauthorized = $0.failure { return true }; return false }.map(\.path)
        let refusedPaths = Set(refused)
        let withoutToken = report.failed.filter { if case .credentials = $0.failure { return true }; return false }.count
        let failed = report.failed.count - cancelled - refused.count - withoutToken
        var diagnostics: [Diagnostic] = report.failed.filter { $0.failure != .cancelled && !refusedPaths.contains($0.path) }.map { Diagnostic(.error, "\($0.path): \($0.failure.message)") }
        if cancelled > 0 {
            diagnostics.append(Diagnostic(.warning, "interrupted: \(cancelled) file\(cancelled == 1 ? " was" : "s were") not finished; partial downloads stay in \(SyncTree.partialDirectoryName) and `datapin sync` continues where this run stopped"))
        }
        if !refused.isEmpty {
            let archives = Set(lock.files.filter { refusedPaths.contains($0.path) }.map(\.archive))
            let variables = archives.compactMap { tokenVariables[$0] }.sorted()
            let token = variables.isEmpty ? "the token" : variables.joined(separator: ", ")
            diagnostics.append(Diagnostic(.error, "the archive refused \(refused.count) file\(refused.count == 1 ? "" : "s") (HTTP 401/403): \(token) is missing, expired or not authorised for \(refused.count == 1 ? "it" : "them")", notes: refused.sorted().map { "refused: \($0)" }))
        }
        if !report.skippedForCredentials.isEmpty {
            let variables = Set(report.skippedForCredentials.compactMap { credentials[$0.archive]?.missingVariable })
            let hint = variables.isEmpty ? "configure `token_env:` for the archive and set that variable" : "set \(variables.sorted().joined(separator: ", "))"
            diagnostics.append(Diagnostic(.warning, "skipped \(report.skippedForCredentials.count) exclusive-access file\(report.skippedForCredentials.count == 1 ? "" : "s") without a token; \(hint) and run `datapin sync` again"))
        }
        if !report.failed.isEmpty && prune && !summary.prunes.isEmpty {
            diagnostics.append(Diagnostic(.warning, "nothing was pruned because some files failed"))
        }
        console.report(diagnostics)
        progress.emit(["event": "summary", "files_placed": report.placed.count, "files_kept": report.kept, "bytes": report.bytesTransferred,
                       "seconds": report.seconds, "pinned": pinned, "failed": failed, "refused": refused.count, "interrupted": cancelled, "skipped": report.skippedForCredentials.count,
                       "pruned": report.pruned.count, "duplicates_placed": report.duplicatesPlaced.count])
        let nothingDone = report.placed.isEmpty && report.failed.isEmpty && report.skippedForCredentials.isEmpty && report.pruned.isEmpty && report.duplicatesPlaced.isEmpty
        if nothingDone {
            console.info("Up to date: \(report.kept) file\(report.kept == 1 ? "" : "s") in place, nothing to fetch")
        }
        var line = "Synced \(report.placed.count) file\(report.placed.count == 1 ? "" : "s") (\(ByteSize.format(report.bytesTransferred)) in \(String(format: "%.1f", report.seconds)) s, \(String(format: "%.1f", megabytesPerSecond)) MB/s); \(report.kept) already in place"
        if !report.duplicatesPlaced.isEmpty { line += ", \(report.duplicatesPlaced.count) duplicates placed" }
        if pinned > 0 { line += ", \(pinned) pinned" }
        if !report.pruned.isEmpty { line += ", \(report.pruned.count) removed" }
        if !report.skippedForCredentials.isEmpty { line += ", \(report.skippedForCredentials.count) skipped" }
        if failed > 0 { line += ", \(failed) failed" }
        if !refused.isEmpty { line += ", \(refused.count) refused" }
        if withoutToken > 0 { line += ", \(withoutToken) without a token" }
        if cancelled > 0 { line += ", \(cancelled) interrupted" }
        if !nothingDone { console.info(line) }

        let status: ExitStatus
        if interrupted { status = .interrupted }
        else if report.hasIntegrityFailure { status = .integrity }
        else if failed > 0 || cancelled > 0 { status = .transferFailed }
        else if !refused.isEmpty || withoutToken > 0 || !report.skippedForCredentials.isEmpty { status = .credentials }
        else { status = .ok }
        if status != .ok { Foundation.exit(status.rawValue) }
    }

    private func printDryRun(_ summary: PlanSummary, console: Console) {
        if global.json {
            console.data(JSONOutput.render(summary.record))
            return
        }
        var lines: [String] = []
        for transfer in summary.transfers {
            lines.append("\(transfer.verb) \(PathSafety.escaped(transfer.entry.path)) (\(transfer.entry.size.map(ByteSize.format) ?? "size unknown"))\(transfer.detail.map { ": \($0)" } ?? "")")
        }
        for place in summary.places { lines.append("\(place.mode == .link ? "link" : "copy") \(place.path) from \(place.owner)") }
        for prune in summary.prunes { lines.append("remove \(PathSafety.escaped(prune.path)) (\(ByteSize.format(prune.size)))") }
        lines.append("Would fetch \(summary.transfers.count) file\(summary.transfers.count == 1 ? "" : "s") (\(ByteSize.format(summary.bytesToTransfer))), place \(summary.places.count) duplicates, remove \(summary.prunes.count); \(summary.kept) already in place")
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
    var places: [(path: String, owner: String, mode: DuplicatePolicy)] = []
    var prunes: [(path: String, size: Int64)] = []
    var kept: Int
    var unpinned: [LockEntry]
    var bytesToTransfer: Int64

    init(_ plan: SyncPlan) {
        kept = plan.counts.keep
        unpinned = plan.unpinnedTransfers
        bytesToTransfer = plan.bytesToTransfer
        for action in plan.actions {
            switch action {
            case .keep: break
            case .download(let entry): transfers.append(Transfer(verb: "fetch", entry: entry))
            case .resume(let entry, let bytes): transfers.append(Transfer(verb: "resume", entry: entry, detail: "\(ByteSize.format(bytes)) already here"))
            case .replace(let entry, let reason): transfers.append(Transfer(verb: "replace", entry: entry, detail: reason))
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
        items += places.map { Record.Item(action: $0.mode == .link ? "link" : "copy", path: $0.path, size: nil, detail: "from \($0.owner)") }
        items += prunes.map { Record.Item(action: "remove", path: $0.path, size: $0.size, detail: nil) }
        return Record(actions: items, bytesToTransfer: bytesToTransfer, kept: kept)
    }
}

/// Turns Ctrl-C (SIGINT) and SIGTERM into a prompt, clean stop: transfers are cancelled,
/// partial files stay for the next run to resume, and the command exits 130.
final class Interruption: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var didFire = false

    init(engine: TransferEngine) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                self?.lock.withLock { self?.didFire = true }
                engine.cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    var fired: Bool { lock.withLock { didFire } }

    func disarm() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
