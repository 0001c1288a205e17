import DatapinKit
import Foundation

/// What `sync`, `status` and `verify` share: the spec, its lock, and the tree they describe.
struct SyncContext {
    let loaded: LoadedSpec
    /// The lock as read, with the pins a sync has folded into it since (and written into
    /// datapin.lock): what the manifest is written from.
    var lock: Lockfile
    let tree: SyncTree
    let paths: ProjectPaths

    /// True when the spec changed since the lock was written.
    var lockIsStale: Bool { lock.specDigest != loaded.spec.meaningDigest }

    /// Every configured archive by name, built-in ones included.
    var archives: [String: ArchiveConfig] { loaded.spec.archivesByName }
}

extension GlobalOptions {
    /// Loads the spec and its lock (which must exist) and prepares `.datapin/`.
    func syncContext() throws -> SyncContext {
        let loaded = try loadSpec()
        let paths = self.paths
        guard let lock = try readLock() else {
            throw console.fail([Diagnostic(.error, "no \(paths.lockDisplayName) here; run `datapin lock` first")], status: .badInput)
        }
        let destination = loaded.spec.destination.hasPrefix("/")
            ? URL(fileURLWithPath: loaded.spec.destination)
            : paths.directory.appendingPathComponent(loaded.spec.destination)
        do {
            try StateDirectory.prepare(paths, grammar: ArchiveRegistry.grammar)
        } catch {
            throw console.fail([Diagnostic(.error, "cannot prepare \(paths.stateDirectory.path): \(error.localizedDescription)")], status: .transferFailed)
        }
        let tree = SyncTree(destination: destination.standardizedFileURL, stateDirectory: paths.stateDirectory)
        return SyncContext(loaded: loaded, lock: lock, tree: tree, paths: paths)
    }
}
