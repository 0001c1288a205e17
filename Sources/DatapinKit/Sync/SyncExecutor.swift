import DatapinLock
import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// Where one locked file is downloaded from, and what the request may carry. The caller
/// builds it from the archive's configuration; Sync itself knows no archive.
public struct DownloadSource: Sendable, Hashable {
    public var url: String
    /// Where the credential headers come from: asked at every attempt, never frozen here.
    public var credentials: RequestCredentials?
    /// Hosts that may see the credentials (the archive's own).
    public var credentialHosts: Set<String>
    /// The SSH key file for an `sftp://` URL, offered only to `credentialHosts`; nil: the SSH
    /// agent and `~/.ssh/id_*`.
    public var sshKeyFile: String?

    public init(url: String, credentials: (any CredentialSource)? = nil, credentialHosts: Set<String> = [], sshKeyFile: String? = nil) {
        self.url = url
        self.credentials = credentials.map(RequestCredentials.init)
        self.credentialHosts = credentialHosts
        self.sshKeyFile = sshKeyFile
    }
}

/// What happens during a sync, for progress displays and NDJSON output.
public enum SyncEvent: Sendable {
    case transferStarted(path: String, size: Int64?)
    /// `bytes` is how much of this file is on disk now.
    case transferProgress(path: String, bytes: Int64, total: Int64?)
    case retrying(path: String, attempt: Int, reason: String, delay: TimeInterval)
    case transferFinished(path: String, result: TransferResult)
    case placedDuplicate(path: String, of: String, mode: DuplicatePolicy)
    case pruned(path: String, size: Int64)
}

/// The outcome of executing a plan.
public struct SyncReport: Sendable {
    /// Paths whose bytes were verified and placed this run.
    public var placed: [String] = []
    /// Files already right and left alone.
    public var kept = 0
    /// Files that could not be placed, with why.
    public var failed: [(path: String, failure: TransferFailure)] = []
    /// Exclusive-access files skipped because no token was available.
    public var skippedForCredentials: [LockEntry] = []
    /// Observed SHA-256 of files the lock did not pin, by path.
    public var pins: [String: String] = [:]
    public var pruned: [String] = []
    public var duplicatesPlaced: [String] = []
    /// Locked paths filled by renaming a file already in the tree (`SyncAction.move`), not downloaded.
    public var moved: [String] = []
    /// Bytes received over the network this run.
    public var bytesTransferred: Int64 = 0
    /// Bytes of the files placed this run.
    public var bytesPlaced: Int64 = 0
    public var seconds: Double = 0

    public init() {}

    /// True when some file failed to match its locked size or checksum.
    public var hasIntegrityFailure: Bool { !integrityFailures.isEmpty }

    /// The paths whose downloads did not match their locked size or checksum.
    public var integrityFailures: [String] {
        failed.filter { if case .sizeMismatch = $0.failure { return true }; if case .digestMismatch = $0.failure { return true }; return false }.map(\.path)
    }
}

/// Carries out a `SyncPlan`: transfers through the engine, links or copies duplicates, prunes
/// (only when nothing failed), and keeps the state cache up to date.
public struct SyncExecutor {
    public var tree: SyncTree
    public var cache: StateCache
    public var engine: TransferEngine
    /// The source of each entry's bytes; nil means "skip it: credentials are missing".
    public var source: (LockEntry) -> DownloadSource?
    /// Where the digest of each unpinned file is recorded the moment it is placed.
    public var journal: PinJournal?
    /// Leave the partial folder even when it is empty: a shard's, which other shards use at the same time.
    public var keepsPartialFolder: Bool

    public init(tree: SyncTree, cache: StateCache, engine: TransferEngine, journal: PinJournal? = nil, keepsPartialFolder: Bool = false,
                source: @escaping (LockEntry) -> DownloadSource?) {
        self.tree = tree
        self.cache = cache
        self.engine = engine
        self.journal = journal
        self.keepsPartialFolder = keepsPartialFolder
        self.source = source
    }

    /// Runs `plan`; never throws: every problem is in the report, file by file.
    public func run(_ plan: SyncPlan, events: @escaping @Sendable (SyncEvent) -> Void) -> SyncReport {
        let started = Date()
        var report = SyncReport()
        var requests: [TransferRequest] = []
        // A request's id is its index here.
        var requestedEntries: [LockEntry] = []
        var places: [(entry: LockEntry, path: String, mode: DuplicatePolicy)] = []
        var prunes: [(path: String, size: Int64)] = []
        report.kept = plan.counts.keep
        for action in plan.actions {
            var fetch: LockEntry
            switch action {
            case .keep:
                continue
            case .move(let entry, let from):
                if move(entry, from: from) {
                    report.moved.append(entry.path)
                    continue
                }
                fetch = entry
            case .download(let entry), .resume(let entry, _), .replace(let entry, _):
                fetch = entry
            case .place(let entry, let path, let mode):
                places.append((entry, path, mode))
                continue
            case .prune(let path, let size):
                prunes.append((path, size))
                continue
            }
            do {
                let entry = fetch
                guard let source = source(entry) else {
                    report.skippedForCredentials.append(entry)
                    continue
                }
                let id = requests.count
                requestedEntries.append(entry)
                requests.append(TransferRequest(
                    id: id, url: source.url, credentialHosts: source.credentialHosts, credentials: source.credentials, sshKeyFile: source.sshKeyFile,
                    rootPath: tree.destination.path, partialPath: tree.partialURL(for: entry).path,
                    finalPath: tree.finalURL(for: entry.path).path, expectedSize: entry.size,
                    expectedSHA256: entry.sha256, checksum: entry.checksum,
                    // Bytes kept from an earlier attempt can be trusted only when the whole file is
                    // checked at the end: a file without a checksum starts again from byte zero, so
                    // that a server whose bytes changed in between (ESO rewrites headers on the fly)
                    // never leaves a mix of two versions placed and pinned.
                    allowResume: entry.sha256 != nil || entry.checksum != nil))
            }
        }

        let lookup = requestedEntries
        let journal = self.journal
        let results = requests.isEmpty ? [] : engine.runBlocking(requests) { event in
            switch event {
            case .started(let id):
                events(.transferStarted(path: lookup[id].path, size: lookup[id].size))
            case .progress(let id, let bytes, let total):
                events(.transferProgress(path: lookup[id].path, bytes: bytes, total: total))
            case .retrying(let id, let attempt, let reason, let delay):
                events(.retrying(path: lookup[id].path, attempt: attempt, reason: reason.message, delay: delay))
            case .finished(let result):
                if case .placed(let sha256, let size) = result.outcome, lookup[result.id].needsPin {
                    journal?.recordPin(for: lookup[result.id], size: size, sha256: sha256)
                }
                events(.transferFinished(path: lookup[result.id].path, result: result))
            }
        }
        var failedPaths: Set<String> = []
        for result in results {
            let entry = requestedEntries[result.id]
            report.bytesTransferred += result.bytesTransferred
            switch result.outcome {
            case .placed(let sha256, let size):
                report.placed.append(entry.path)
                report.bytesPlaced += size
                if entry.sha256 == nil { report.pins[entry.path] = sha256 }
                if let stat = FileStat(lstatAt: tree.finalURL(for: entry.path).path) {
                    cache.record(entry.path, stat: stat, sha256: sha256)
                }
            case .failed(let failure):
                report.failed.append((entry.path, failure))
                failedPaths.insert(entry.path)
            }
        }
        for entry in report.skippedForCredentials { failedPaths.insert(entry.path) }

        for place in places where !failedPaths.contains(place.entry.path) {
            do {
                try placeDuplicate(of: place.entry, at: place.path, mode: place.mode)
                report.duplicatesPlaced.append(place.path)
                events(.placedDuplicate(path: place.path, of: place.entry.path, mode: place.mode))
            } catch {
                report.failed.append((place.path, error))
            }
        }

        if report.failed.isEmpty && report.skippedForCredentials.isEmpty {
            for prune in prunes {
                if unlink(tree.finalURL(for: prune.path).path) == 0 || errno == ENOENT {
                    cache.forget(prune.path)
                    report.pruned.append(prune.path)
                    events(.pruned(path: prune.path, size: prune.size))
                }
            }
        }
        // The partial folder goes when nothing is left in it (rmdir removes only an empty folder).
        if !keepsPartialFolder { rmdir(tree.partialDirectory.path) }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Moves the file at `from` to the entry's path (a hard link, then the old name removed, so
    /// that nothing at the target is replaced and a kill in between leaves the file at both), in
    /// folders that are never symbolic links; the state cache follows the file. False when it could
    /// not be moved (the entry is then downloaded).
    private func move(_ entry: LockEntry, from: String) -> Bool {
        let source = tree.finalURL(for: from).path
        let target = tree.finalURL(for: entry.path).path
        guard (try? LocalFiles.makeParentFolders(of: target, root: tree.destination.path, mustBeInside: true)) != nil,
              let sha256 = entry.sha256, link(source, target) == 0
        else { return false }
        unlink(source)
        guard let stat = FileStat(lstatAt: target) else { return false }
        cache.forget(from)
        cache.record(entry.path, stat: stat, sha256: sha256)
        return true
    }

    /// Puts the owner's verified bytes at a duplicate's path: a hard link (a copy when the file
    /// system cannot link), written beside the target and renamed into place (`AtomicFile`),
    /// in folders that are never symbolic links (`LocalFiles`).
    private func placeDuplicate(of entry: LockEntry, at path: String, mode: DuplicatePolicy) throws(TransferFailure) {
        let source = tree.finalURL(for: entry.path).path
        let target = tree.finalURL(for: path)
        try LocalFiles.makeParentFolders(of: target.path, root: tree.destination.path, mustBeInside: true)
        do throws(AtomicFile.WriteError) {
            let linked = mode == .link && (try? AtomicFile.link(source, to: target)) != nil
            if !linked { try AtomicFile.copy(source, to: target) }
        } catch {
            throw error.code.map { TransferFailure.fromErrno($0, path: target.path) } ?? .fileSystem(path: path, reason: error.reason)
        }
        if let sha256 = entry.sha256, let stat = FileStat(lstatAt: target.path) {
            cache.record(path, stat: stat, sha256: sha256)
        }
    }
}
