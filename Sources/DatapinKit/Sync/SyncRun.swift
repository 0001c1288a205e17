import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// One `datapin sync` as policy: refuses what must not be synced (clashing or protected paths, a
/// stale lock under `--frozen`, more prunes than `--max-delete`, unpinned files under
/// `--frozen`, unusable credentials of an archive it has files to fetch from), takes the tree's
/// sync lock, folds pins, plans, transfers, keeps the state cache, and says what happened in a
/// `SyncOutcome` with its exit status. The sync lock is held only
/// inside `run`, so it is released before the caller prints or exits. Sync knows no archive:
/// where each file comes from, and what to say about missing credentials, are the caller's.
public final class SyncRun: @unchecked Sendable {
    /// What the command line chose.
    public struct Options: Sendable, Hashable {
        /// Transfers at once.
        public var jobs: Int
        /// Plan and report, change nothing.
        public var dryRun: Bool
        /// Never change the lock; refuse a stale lock or one with unpinned files.
        public var frozen: Bool
        /// Remove files the lock does not list.
        public var prune: Bool
        /// With `prune`, the most files that may be removed; more refuses the run.
        public var maxDelete: Int
        /// Sync only this shard's files (`--shard K/N`), side by side with the other shards.
        public var shard: Shard?
        /// How verified files are flushed before they are renamed into place.
        public var durability: Durability

        public init(jobs: Int = 8, dryRun: Bool = false, frozen: Bool = false, prune: Bool = false, maxDelete: Int = 20, shard: Shard? = nil, durability: Durability = .batched) {
            self.jobs = jobs
            self.dryRun = dryRun
            self.frozen = frozen
            self.prune = prune
            self.maxDelete = maxDelete
            self.shard = shard
            self.durability = durability
        }
    }

    /// What the caller says about credentials: whether they can be used, and the sentences
    /// about files refused or skipped.
    public struct CredentialAdvice {
        /// Errors, before anything is fetched, about the credentials of these archives (by name):
        /// the archives that have files to fetch in this run, and only those, so a complete tree
        /// syncs whatever state a token is in. An error refuses the run (exit 5).
        public var problems: (_ archives: Set<String>) -> [Diagnostic]
        /// What to call the credential of these archives (by name) in "… is missing, expired or
        /// not authorised": "the token in MAST_API_TOKEN".
        public var refusedCredential: (_ archives: Set<String>) -> String
        /// What to do about exclusive-access files skipped for want of a credential: "set MAST_API_TOKEN".
        public var missingCredentialHint: (_ skipped: [LockEntry]) -> String

        public init(problems: @escaping (Set<String>) -> [Diagnostic] = { _ in [] },
                    refusedCredential: @escaping (Set<String>) -> String = { _ in "the token" },
                    missingCredentialHint: @escaping ([LockEntry]) -> String = { _ in "configure `token_env:` for the archive and set that variable" }) {
            self.problems = problems
            self.refusedCredential = refusedCredential
            self.missingCredentialHint = missingCredentialHint
        }
    }

    /// Something to show while the run goes on, in order; called on the thread that runs `run`.
    public enum Notice {
        /// A human message ("pinned 3 checksums; commit datapin.lock").
        case info(String)
        /// Warnings to show now.
        case diagnostics([Diagnostic])
        /// Transfers begin: this many files to fetch (those skipped for want of credentials not
        /// counted), of these locked sizes in all (a resumed file's whole size, as its progress
        /// events count the bytes already on disk). Events follow until `transfersEnded`.
        case transfersStarting(files: Int, bytes: Int64)
        /// Every event of the transfers has been delivered.
        case transfersEnded
    }

    public let options: Options
    /// The lock as read; `SyncOutcome.lock` is the lock as the run left it.
    public let lock: Lockfile
    /// The destination, the state folder and the protected paths.
    public let tree: SyncTree
    public let spec: Spec
    /// Where the spec and lock are, and what to call them.
    public let paths: ProjectPaths
    /// The source of each entry's bytes; nil skips it for want of credentials.
    public let source: (LockEntry) -> DownloadSource?
    public let advice: CredentialAdvice
    /// Called with the sync lock still held, after the transfers and the pins, with the report and
    /// the lock as it now is (the manifest is written here); returns diagnostics to show. Not
    /// called for a shard: the manifest describes the whole tree, which the next unsharded sync
    /// writes.
    public let afterSync: (SyncReport, Lockfile) -> [Diagnostic]

    private let engine: TransferEngine
    private let state = NSLock()
    private var cancelled = false

    public init(options: Options, lock: Lockfile, tree: SyncTree, spec: Spec, paths: ProjectPaths,
                engine: TransferEngine? = nil, advice: CredentialAdvice = CredentialAdvice(),
                afterSync: @escaping (SyncReport, Lockfile) -> [Diagnostic] = { _, _ in [] },
                source: @escaping (LockEntry) -> DownloadSource?) {
        self.options = options
        self.lock = lock
        self.tree = tree
        self.spec = spec
        self.paths = paths
        self.engine = engine ?? TransferEngine(maxConcurrent: options.jobs, durability: options.durability)
        self.advice = advice
        self.afterSync = afterSync
        self.source = source
    }

    /// Stops the transfers promptly (Ctrl-C): partial files stay, and the outcome is `.interrupted`.
    public func cancel() {
        state.withLock { cancelled = true }
        engine.cancel()
    }

    private var wasCancelled: Bool { state.withLock { cancelled } }

    /// Runs the sync. Blocking: call it from the main thread, never from Swift concurrency's pool.
    /// `events` gets every transfer event on a thread of the run's own, never the transfer
    /// thread, so a slow consumer never holds up a transfer; `notify` is called on this thread.
    public func run(notify: (Notice) -> Void = { _ in }, events: @escaping @Sendable (SyncEvent) -> Void = { _ in }) -> SyncOutcome {
        var outcome = SyncOutcome(lock: lock)
        let shard = options.shard
        if let shard, options.prune {
            return outcome.refused([Diagnostic(.error, "--prune cannot be used with --shard \(shard): a shard does not know which of the other files are extra; nothing was changed", notes: ["run `datapin sync --prune` without --shard once every shard has finished"])], .badInput)
        }
        if let refusal = refusePaths() { return outcome.refused(refusal, .badInput) }
        if lock.specDigest != spec.meaningDigest {
            if options.frozen {
                return outcome.refused([Diagnostic(.error, "\(paths.lockDisplayName) is stale: \(paths.specDisplayName) changed since it was locked; run `datapin lock` and commit the result")], .different)
            }
            notify(.diagnostics([Diagnostic(.warning, "\(paths.lockDisplayName) is stale against \(paths.specDisplayName); syncing the lock as it is. Run `datapin plan` to see what `datapin lock` would change")]))
        }

        let syncLock: SyncLock
        do {
            syncLock = try SyncLock.acquire(in: tree, shard: shard) { holder in
                notify(.info("waiting for another sync of this tree to finish (\(holder))"))
            }
        } catch {
            return outcome.refused([Diagnostic(.error, "cannot lock \(tree.stateDirectory.path) for this sync: \(error.message)")], .transferFailed)
        }
        defer { syncLock.release() }

        let journal = PinJournal(stateDirectory: tree.stateDirectory, shard: shard)
        if !options.frozen && !options.dryRun {
            if let failure = foldPins(from: journal, into: &outcome, notify: notify) { return outcome.refused(failure, .transferFailed) }
        }
        let cache = StateCache.load(from: tree, scope: shard.map { .shard($0, paths: $0.part(of: outcome.lock).lockedPaths) } ?? .tree)
        let plan: SyncPlan
        do {
            plan = try SyncPlanner(lock: outcome.lock, tree: tree, cache: cache, duplicates: spec.duplicates, shard: shard).plan(prune: options.prune)
        } catch {
            return outcome.refused([Diagnostic(.error, error.message)], .badInput)
        }
        let prunes = plan.actions.compactMap { if case .prune(let path, _) = $0 { return path }; return nil }
        if options.prune && prunes.count > options.maxDelete {
            return outcome.refused([Diagnostic(.error, "--prune would remove \(prunes.count) files, more than --max-delete \(options.maxDelete); nothing was changed", notes: prunes.prefix(5).map { "would remove \(PathSafety.escaped($0))" } + ["run `datapin sync --dry-run --prune` to see them all, and `--max-delete \(prunes.count)` to allow it"])], .badInput)
        }
        if options.frozen, let refusal = refuseUnpinned(fetchedEarlier: journal.awaitingPins(in: outcome.lock)) {
            return outcome.refused(refusal, .different)
        }
        let transfers = plan.transfers
        let credentialProblems = advice.problems(Set(transfers.map(\.archive)))
        if !credentialProblems.isEmpty { return outcome.refused(credentialProblems, .credentials) }
        let uncomputable = Lockfile.uncomputableChecksumWarnings(for: transfers, described: "fetched by this sync")
        if !uncomputable.isEmpty { notify(.diagnostics(uncomputable)) }
        if options.dryRun {
            outcome.result = .planned(plan)
            return outcome
        }

        do {
            try journal.recordFetches(plan.unpinnedTransfers)
        } catch {
            return outcome.refused([Diagnostic(.error, "cannot record which files this sync pins, so nothing was fetched: \(error.message)")], .transferFailed)
        }
        let unpinnable = journal.recordKept(plan.unpinnedKeeps, tree: tree, cache: cache)
        if !unpinnable.isEmpty {
            let count = unpinnable.count
            notify(.diagnostics([Diagnostic(.warning, "\(count) file\(count == 1 ? " is" : "s are") in place and kept by \(count == 1 ? "its" : "their") size, but not pinned: datapin did not download \(count == 1 ? "it" : "them") into this tree (or \(count == 1 ? "it" : "they") changed since), so it cannot vouch for \(count == 1 ? "its" : "their") bytes; to pin \(count == 1 ? "it" : "them"), delete \(count == 1 ? "it" : "them") and run `datapin sync`", notes: unpinnable.prefix(5).map { "not pinned: \(PathSafety.escaped($0.path))" })]))
        }
        let executor = SyncExecutor(tree: tree, cache: cache, engine: engine, journal: journal, keepsPartialFolder: shard != nil, source: source)
        let fetched = transfers.filter { source($0) != nil }
        notify(.transfersStarting(files: fetched.count, bytes: fetched.reduce(0) { $0 + ($1.size ?? 0) }))
        let relay = SyncEventRelay(consumer: events)
        let report = executor.run(plan) { relay.send($0) }
        relay.finish()
        notify(.transfersEnded)
        outcome.result = .synced(report)
        UpstreamMismatches.update(failed: report.integrityFailures, attempted: transfers, of: outcome.lock, in: tree, shard: shard)

        if !options.frozen {
            if let failure = foldPins(from: journal, into: &outcome, notify: notify) { return outcome.refused(failure, .transferFailed) }
        }
        // Records of paths the lock no longer lists are dropped; when there are no more records
        // than locked paths there is nothing worth the cost of looking. A shard saves only its
        // own paths, so it has none to drop.
        let lockedPathCount = outcome.lock.files.reduce(0) { $0 + 1 + $1.alsoPaths.count }
        if shard == nil && cache.count > lockedPathCount {
            cache.retainOnly(outcome.lock.lockedPaths)
        }
        do {
            try cache.save(absorbingShards: shard == nil)
        } catch {
            outcome.diagnostics.append(Diagnostic(.warning, "the sync state could not be saved, so the next sync re-reads the files: \(error.message)"))
        }
        if shard == nil { outcome.diagnostics += afterSync(report, outcome.lock) }
        conclude(report, plannedPrunes: prunes.count, into: &outcome)
        return outcome
    }

    /// Refuses, before anything is fetched, a lock whose paths cannot be laid out together in
    /// this destination by `LaidOutPaths` (with the spec's `manifest` and `case_sensitive`, which
    /// are not locked): one where the manifest is written, two that differ only in case, which
    /// would be written over each other, or one at a protected path (the spec, the lock, the
    /// state folder, a local catalog), which sync never writes over.
    private func refusePaths() -> [Diagnostic]? {
        let locked = lock.files.flatMap { [$0.path] + $0.alsoPaths }
        let clashes = LaidOutPaths.clashes(among: locked, manifest: spec.manifest, caseSensitive: spec.caseSensitive)
        var diagnostics: [Diagnostic] = clashes.map { clash in
            switch clash {
            case .manifest(let path, _):
                return Diagnostic(.error, "\(paths.lockDisplayName) places '\(PathSafety.escaped(path))' at the top of the destination, where `manifest: true` writes the download manifest; nothing was fetched", notes: ["set `manifest: false` in \(paths.specDisplayName), or use `layout: nested` (or a template with a folder) and run `datapin lock` again"])
            case .caseOnly(let path, let earlier, let spelling, let earlierSpelling):
                let spellings = spelling == path ? "" : " ('\(PathSafety.escaped(earlierSpelling))' and '\(PathSafety.escaped(spelling))')"
                return Diagnostic(.error, "\(paths.lockDisplayName) places '\(PathSafety.escaped(earlier))' and '\(PathSafety.escaped(path))', which differ only in case\(spellings), so they would be one file on a case-insensitive file system (macOS, Windows); nothing was fetched", notes: ["set `case_sensitive: true` in \(paths.specDisplayName) if the destination's file system always tells names that differ in case apart; otherwise choose a layout that tells them apart and run `datapin lock` again"])
            }
        }
        let protected = tree.protectedRelativePaths
        if !protected.isEmpty {
            for path in locked {
                guard let hit = Self.protectedPath(covering: path, in: protected) else { continue }
                diagnostics.append(Diagnostic(.error, "\(paths.lockDisplayName) places '\(PathSafety.escaped(path))' in the destination, where '\(PathSafety.escaped(hit))' is one of the project's own files (the spec, the lock, datapin's state or a catalog the spec reads), which sync never writes over; nothing was fetched", notes: ["choose a `destination:` in \(paths.specDisplayName) that does not hold the project's files, or a layout that places no file there, and run `datapin lock` again"]))
            }
        }
        return diagnostics.isEmpty ? nil : diagnostics
    }

    /// The protected path that `path` is, or lies in, if any.
    static func protectedPath(covering path: String, in protected: Set<String>) -> String? {
        if protected.contains(path) { return path }
        var folder = Substring(path)
        while let slash = folder.lastIndex(of: "/") {
            folder = folder[..<slash]
            if protected.contains(String(folder)) { return String(folder) }
        }
        return nil
    }

    /// Folds the journal's pins into datapin.lock (`PinJournal.foldIntoLockFile`) and says what
    /// it did; returns the error to end the run with when the lock could not be written.
    private func foldPins(from journal: PinJournal, into outcome: inout SyncOutcome, notify: (Notice) -> Void) -> [Diagnostic]? {
        let folded: (lock: Lockfile, pinned: PinJournal.Pinned)
        do {
            folded = try journal.foldIntoLockFile(outcome.lock, tree: tree, lockFile: paths.lock)
        } catch {
            return [Diagnostic(.error, "the files are in place, but \(paths.lockDisplayName) could not be updated with their checksums and sizes: \(error.message)", notes: ["they are kept in \(journal.url.path); the next `datapin sync` writes them"])]
        }
        outcome.lock = folded.lock
        outcome.pinned += folded.pinned.entries
        if folded.pinned.entries > 0 {
            notify(.info("\(Self.pinnedPhrase(folded.pinned)); commit \(paths.lockDisplayName)"))
        }
        return nil
    }

    /// "pinned 3 checksums", "pinned 2 checksums and 2 sizes", "pinned 1 size".
    static func pinnedPhrase(_ pinned: PinJournal.Pinned) -> String {
        func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
        var parts: [String] = []
        if pinned.checksums > 0 { parts.append(counted(pinned.checksums, "checksum")) }
        if pinned.sizes > 0 { parts.append(counted(pinned.sizes, "size")) }
        return "pinned " + parts.joined(separator: " and ")
    }

    /// For --frozen: an error when the lock has a file without a checksum or a size, whether this tree
    /// would fetch it, keeps it, or an earlier sync fetched it: decided from the lock alone, so a
    /// tree and a fresh clone of the same lock agree. A plain `datapin sync` pins every one of them.
    private func refuseUnpinned(fetchedEarlier: [LockEntry]) -> [Diagnostic]? {
        let unpinned = lock.files.filter(\.needsPin)
        guard !unpinned.isEmpty else { return nil }
        let count = unpinned.count
        let missing: String
        switch (unpinned.contains { $0.sha256 == nil }, unpinned.contains { $0.size == nil }) {
        case (true, true): missing = "a checksum or a size"
        case (false, true): missing = "a size"
        default: missing = "a checksum"
        }
        let earlier = fetchedEarlier.isEmpty ? "" : " (\(fetchedEarlier.count) of them fetched by an earlier sync that stopped before writing " + (fetchedEarlier.count == 1 ? "its " : "their ") + (missing == "a checksum" ? (fetchedEarlier.count == 1 ? "checksum" : "checksums") : (fetchedEarlier.count == 1 ? "pin" : "pins")) + ")"
        return [Diagnostic(.error, "\(count) file\(count == 1 ? " is" : "s are") locked without \(missing) and need\(count == 1 ? "s" : "") pinning\(earlier), which --frozen does not allow; run `datapin sync` without --frozen once and commit \(paths.lockDisplayName)", notes: unpinned.prefix(5).map { entry in
            let lacking = [entry.sha256 == nil ? "sha256" : nil, entry.size == nil ? "size" : nil].compactMap { $0 }.joined(separator: " and ")
            return "unpinned: \(PathSafety.escaped(entry.path)) (no \(lacking))"
        })]
    }

    /// Downloads of the locked size whose bytes differ from the lock, of files the lock dates
    /// with the archive's modification date: unless `outdated` shows a new date, the archive
    /// changed the bytes without changing the date, as ESO does when it rewrites FITS headers
    /// on the fly. One error naming the files, with the remedy.
    static func rewrittenInPlace(_ entries: [LockEntry]) -> Diagnostic {
        let count = entries.count
        let datasets = Set(entries.map(\.dataset)).sorted().map(PathSafety.escaped).joined(separator: " ")
        let message = "\(count) download\(count == 1 ? "" : "s") had the locked size but other bytes, so \(count == 1 ? "it was" : "they were") not placed; "
            + "\(count == 1 ? "its lock entry carries" : "their lock entries carry") the archive's modification date: unless `datapin outdated` shows a new date, "
            + "the archive served different bytes for a file whose modification date did not change (ESO rewrites FITS headers on the fly); "
            + "`datapin lock --update \(datasets)` re-pins \(count == 1 ? "it" : "them") to the bytes served now"
        return Diagnostic(.error, message, notes: entries.prefix(5).map { "modified \($0.modified ?? "") and different bytes: \(PathSafety.escaped($0.path))" })
    }

    /// The diagnostics, the closing lines, the summary values and the exit status of a run that
    /// transferred.
    private func conclude(_ report: SyncReport, plannedPrunes: Int, into outcome: inout SyncOutcome) {
        let interrupted = wasCancelled
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
            let archives = Set(outcome.lock.files.filter { refusedPaths.contains($0.path) }.map(\.archive))
            let credential = advice.refusedCredential(archives)
            diagnostics.append(Diagnostic(.error, "the archive refused \(refused.count) file\(refused.count == 1 ? "" : "s") (HTTP 401/403): \(credential) is missing, expired or not authorised for \(refused.count == 1 ? "it" : "them")", notes: refused.sorted().map { "refused: \($0)" }))
        }
        let mismatched = Set(report.integrityFailures)
        if !mismatched.isEmpty {
            // A file the lock dates (the archive's `modified`) that kept its size but not its
            // bytes was most likely rewritten in place, not replaced: say so apart.
            let entries = outcome.lock.files.filter { mismatched.contains($0.path) }
            let sizeMismatches = Set(report.failed.filter { if case .sizeMismatch = $0.failure { return true }; return false }.map(\.path))
            let isRewritten = { (entry: LockEntry) in entry.modified != nil && !sizeMismatches.contains(entry.path) }
            let rewritten = entries.filter(isRewritten)
            let replaced = entries.filter { !isRewritten($0) }
            if !replaced.isEmpty {
                let datasets = Set(replaced.map(\.dataset)).sorted()
                let count = replaced.count
                diagnostics.append(Diagnostic(.error, "\(count) download\(count == 1 ? "" : "s") did not match the lock, so \(count == 1 ? "it was" : "they were") not placed: the archive now serves other bytes than it did when the file\(count == 1 ? " was" : "s were") locked (reprocessed or replaced upstream); `datapin outdated` shows what the archive says changed, and `datapin lock --update \(datasets.map(PathSafety.escaped).joined(separator: " "))` takes the new version\(count == 1 ? "" : "s") for the next `datapin sync`"))
            }
            if !rewritten.isEmpty {
                diagnostics.append(Self.rewrittenInPlace(rewritten))
            }
        }
        if !report.skippedForCredentials.isEmpty {
            let hint = advice.missingCredentialHint(report.skippedForCredentials)
            diagnostics.append(Diagnostic(.warning, "skipped \(report.skippedForCredentials.count) exclusive-access file\(report.skippedForCredentials.count == 1 ? "" : "s") without a token; \(hint) and run `datapin sync` again"))
        }
        if !report.failed.isEmpty && options.prune && plannedPrunes > 0 {
            diagnostics.append(Diagnostic(.warning, "nothing was pruned because some files failed"))
        }
        outcome.diagnostics += diagnostics
        outcome.summary = SyncOutcome.Summary(filesPlaced: report.placed.count, filesKept: report.kept, bytes: report.bytesTransferred, seconds: report.seconds,
                                              pinned: outcome.pinned, failed: failed, refused: refused.count, interrupted: cancelled,
                                              skipped: report.skippedForCredentials.count, pruned: report.pruned.count, duplicatesPlaced: report.duplicatesPlaced.count)
        let nothingDone = report.placed.isEmpty && report.failed.isEmpty && report.skippedForCredentials.isEmpty && report.pruned.isEmpty && report.duplicatesPlaced.isEmpty && report.moved.isEmpty
        if nothingDone {
            outcome.messages.append("Up to date: \(report.kept) file\(report.kept == 1 ? "" : "s") in place, nothing to fetch")
        } else {
            // The size is that of the files placed; the rate is of every byte received, failed downloads included.
            var line = report.placed.isEmpty && report.bytesTransferred == 0
                ? "Synced without downloading; \(report.kept) already in place"
                : "Synced \(report.placed.count) file\(report.placed.count == 1 ? "" : "s") (\(ByteSize.format(report.bytesPlaced)) in \(String(format: "%.1f", report.seconds)) s, \(String(format: "%.1f", megabytesPerSecond)) MB/s); \(report.kept) already in place"
            if !report.moved.isEmpty { line += ", \(report.moved.count) moved from where an earlier sync put \(report.moved.count == 1 ? "it" : "them")" }
            if !report.duplicatesPlaced.isEmpty { line += ", \(report.duplicatesPlaced.count) duplicates placed" }
            if outcome.pinned > 0 { line += ", \(outcome.pinned) pinned" }
            if !report.pruned.isEmpty { line += ", \(report.pruned.count) removed" }
            if !report.skippedForCredentials.isEmpty { line += ", \(report.skippedForCredentials.count) skipped" }
            if failed > 0 { line += ", \(failed) failed" }
            if !refused.isEmpty { line += ", \(refused.count) refused" }
            if withoutToken > 0 { line += ", \(withoutToken) without a token" }
            if cancelled > 0 { line += ", \(cancelled) interrupted" }
            outcome.messages.append(line)
        }
        if let shard = options.shard, let first = outcome.messages.first {
            outcome.messages[0] = "Shard \(shard): \(first.prefix(1).lowercased())\(first.dropFirst())"
            if spec.manifest {
                outcome.messages.append("The manifest is written by the next `datapin sync` without --shard, once every shard has finished")
            }
        }
        if interrupted { outcome.status = .interrupted }
        else if report.hasIntegrityFailure { outcome.status = .integrity }
        else if failed > 0 || cancelled > 0 { outcome.status = .transferFailed }
        else if !refused.isEmpty || withoutToken > 0 || !report.skippedForCredentials.isEmpty { outcome.status = .credentials }
        else { outcome.status = .ok }
    }
}

/// What one `SyncRun` did, for the caller to print: what happened, the diagnostics to show
/// (after the run, in order), the closing lines, the summary values and the exit status.
public struct SyncOutcome: Sendable {
    /// How far the run got.
    public enum Result: Sendable {
        /// Refused before anything changed in the tree; `diagnostics` say why.
        case refused
        /// A dry run: the plan, nothing changed.
        case planned(SyncPlan)
        /// Transfers ran (or were due and ran for none); what each did.
        case synced(SyncReport)
    }

    /// The values of the closing summary (`--json`'s `summary` event).
    public struct Summary: Sendable, Hashable {
        public var filesPlaced: Int
        public var filesKept: Int
        /// Bytes received over the network.
        public var bytes: Int64
        public var seconds: Double
        public var pinned: Int
        /// Failed other than by a refusal (401/403) or an interruption.
        public var failed: Int
        public var refused: Int
        public var interrupted: Int
        public var skipped: Int
        public var pruned: Int
        public var duplicatesPlaced: Int
    }

    public var result: Result = .refused
    public var status: ExitStatus = .ok
    /// Errors and warnings to show once the run has returned.
    public var diagnostics: [Diagnostic] = []
    /// Closing human lines ("Synced 3 files (…)", "Up to date: …").
    public var messages: [String] = []
    /// Set when transfers ran.
    public var summary: Summary?
    /// The lock as the run left it: with every pin written into datapin.lock.
    public var lock: Lockfile
    /// Checksums written into datapin.lock by this run.
    public var pinned = 0

    init(lock: Lockfile) {
        self.lock = lock
    }

    /// This outcome, ended with `diagnostics` and `status` (the result stays what it was).
    fileprivate mutating func refused(_ diagnostics: [Diagnostic], _ status: ExitStatus) -> SyncOutcome {
        self.diagnostics += diagnostics
        self.status = status
        return self
    }
}
