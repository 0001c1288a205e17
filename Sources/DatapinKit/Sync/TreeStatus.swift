import DatapinLock
import DatapinSpec
import DatapinSupport
import Foundation

/// How the local tree compares with the lock, file by file: what `datapin status` reports.
public struct TreeStatus: Sendable {
    /// A locked path that holds something other than the locked file.
    public struct Difference: Sendable, Hashable {
        public var entry: LockEntry
        /// The path that differs, relative to destination: the entry's path or one of its `alsoPaths`.
        public var path: String
        /// One plain phrase: "size 10 B, locked 12 B", "content differs from the pinned sha256".
        public var reason: String

        public init(entry: LockEntry, path: String, reason: String) {
            self.entry = entry
            self.path = path
            self.reason = reason
        }
    }

    /// Entries whose file is absent and has no partial download.
    public var missing: [LockEntry]
    /// Entries whose file is present with other bytes, is unsafe (a symlink) or unreadable.
    public var modified: [Difference]
    /// Entries whose file is absent but a partial download of it exists.
    public var partial: [LockEntry]
    /// Duplicates (`alsoPaths`) that are missing or do not hold their entry's bytes.
    public var unplaced: [Difference]
    /// Files under destination the lock does not list, sorted.
    public var extra: [String]
    /// Entries whose file holds the locked bytes.
    public var clean: Int

    public var isClean: Bool {
        missing.isEmpty && modified.isEmpty && partial.isEmpty && unplaced.isEmpty && extra.isEmpty
    }
}

/// Compares the tree with the lock without changing it, trusting the state cache for unchanged
/// files (which are not read); files hashed and found intact are recorded in the cache.
public enum TreeStatusScanner {
    /// The status of every locked path, plus the extras. Blocking: call it from the main thread.
    public static func scan(lock: Lockfile, tree: SyncTree, cache: StateCache, duplicates: DuplicatePolicy = .link) -> TreeStatus {
        let survey = TreeSurvey(tree: tree, cache: cache, duplicates: duplicates)
        guard case .success(let results) = survey.survey(lock.files, stopAtUnsafe: false) else {
            preconditionFailure("a survey that does not stop at unsafe paths always succeeds")
        }
        var status = TreeStatus(missing: [], modified: [], partial: [], unplaced: [], extra: [], clean: 0)
        for (entry, result) in zip(lock.files, results) {
            switch result.primary {
            case .intact:
                status.clean += 1
            case .missing:
                if result.partialBytes != nil {
                    status.partial.append(entry)
                } else {
                    status.missing.append(entry)
                }
            case .differs(let reason):
                status.modified.append(TreeStatus.Difference(entry: entry, path: entry.path, reason: reason))
            case .unsafe(let path, let reason):
                status.modified.append(TreeStatus.Difference(entry: entry, path: entry.path, reason: "\(PathSafety.escaped(path)) \(reason)"))
            case .unreadable(_, let reason):
                status.modified.append(TreeStatus.Difference(entry: entry, path: entry.path, reason: "cannot be read: \(reason)"))
            }
            for placement in result.placements {
                let reason: String
                switch placement.verdict {
                case .intact: continue
                case .missing: reason = "missing"
                case .differs(let text): reason = text
                case .unsafe(let path, let text): reason = "\(PathSafety.escaped(path)) \(text)"
                case .unreadable(_, let text): reason = "cannot be read: \(text)"
                }
                status.unplaced.append(TreeStatus.Difference(entry: entry, path: placement.path, reason: reason))
            }
        }
        status.extra = survey.extras(locked: lock.lockedPaths)
        return status
    }
}
