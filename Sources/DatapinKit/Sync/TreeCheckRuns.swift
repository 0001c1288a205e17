import DatapinLock
import DatapinSpec
import DatapinSupport
import Foundation

/// `datapin status` as policy: the tree's status against the lock, the warning for a stale
/// lock, and the exit status (`check`: 1 unless the tree matches the lock exactly).
public struct StatusRun {
    public var lock: Lockfile
    /// The destination, with the project's own files protected (never extra).
    public var tree: SyncTree
    public var spec: Spec
    public var paths: ProjectPaths
    /// Exit 1 unless the tree is clean.
    public var check: Bool
    /// Only this shard's files, and no extras (the other shards' files are not).
    public var shard: Shard?

    public init(lock: Lockfile, tree: SyncTree, spec: Spec, paths: ProjectPaths, check: Bool, shard: Shard? = nil) {
        self.lock = lock
        self.tree = tree
        self.spec = spec
        self.paths = paths
        self.check = check
        self.shard = shard
    }

    /// What `status` found. Blocking (file I/O, hashing on worker threads): call it from the
    /// main thread.
    public func run() -> StatusOutcome {
        let (checked, cache) = scoped(lock, shard: shard, tree: tree)
        var status = TreeStatusScanner.scan(lock: checked, tree: tree, cache: cache, duplicates: spec.duplicates)
        if shard != nil { status.extra = [] }
        try? cache.save()
        var diagnostics: [Diagnostic] = []
        if lock.specDigest != spec.meaningDigest {
            diagnostics.append(Diagnostic(.warning, "\(paths.lockDisplayName) is stale against \(paths.specDisplayName); run `datapin lock`"))
        }
        let notClean = Set(status.missing.map(\.path) + status.partial.map(\.path) + status.modified.map(\.path))
        let changedUpstream = UpstreamMismatches.load(stateDirectory: tree.stateDirectory).paths(in: lock).intersection(notClean)
        return StatusOutcome(status: status, changedUpstream: changedUpstream, diagnostics: diagnostics, exitStatus: check && !status.isClean ? .different : .ok)
    }
}

/// What one `StatusRun` found, for the caller to print.
public struct StatusOutcome: Sendable {
    public var status: TreeStatus
    /// The missing, partial or modified files whose download at the last sync did not match the
    /// lock: `sync` cannot place them until `lock --update` takes what the archive serves now.
    public var changedUpstream: Set<String>
    /// Warnings to show after the status.
    public var diagnostics: [Diagnostic]
    public var exitStatus: ExitStatus
}

/// `datapin verify` as policy: every locked file re-read and checked, and the exit status (1
/// when any differs).
public struct VerifyRun {
    public var lock: Lockfile
    public var tree: SyncTree
    /// Only this shard's files.
    public var shard: Shard?

    public init(lock: Lockfile, tree: SyncTree, shard: Shard? = nil) {
        self.lock = lock
        self.tree = tree
        self.shard = shard
    }

    /// What `verify` found. Blocking: call it from the main thread.
    public func run() -> VerifyOutcome {
        let (checked, cache) = scoped(lock, shard: shard, tree: tree)
        let findings = TreeVerifier.verify(lock: checked, tree: tree, cache: cache)
        try? cache.save()
        let problems = findings.filter(\.isProblem)
        let unpinned = findings.filter { if case .unpinned = $0.outcome { return true }; return false }
        return VerifyOutcome(checked: findings.count, problems: problems, unpinned: unpinned.map(\.path), exitStatus: problems.isEmpty ? .ok : .different)
    }
}

/// What one `VerifyRun` found, for the caller to print.
public struct VerifyOutcome: Sendable {
    /// Files checked.
    public var checked: Int
    /// Files that do not match the lock, each with its message.
    public var problems: [VerifyFinding]
    /// Paths of files the lock has no checksum for (their size was checked).
    public var unpinned: [String]
    public var exitStatus: ExitStatus
}

/// The part of `lock` a check covers (all of it, or a shard's entries) and the state cache it
/// trusts and records into (a shard's saves only its own paths).
private func scoped(_ lock: Lockfile, shard: Shard?, tree: SyncTree) -> (Lockfile, StateCache) {
    guard let shard else { return (lock, StateCache.load(from: tree)) }
    let part = shard.part(of: lock)
    return (part, StateCache.load(from: tree, scope: .shard(shard, paths: part.lockedPaths)))
}
