import DatapinKit
import Foundation

/// What `sync`, `status` and `verify` share: the spec, its lock, and the tree they describe.
struct SyncContext {
    let loaded: LoadedSpec
    /// The lock as read (a sync's outcome holds the lock with the pins it wrote).
    let lock: Lockfile
    /// The destination, with the project's own files protected (`protectedPaths`).
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
        let tree = SyncTree(destination: destination.standardizedFileURL, stateDirectory: paths.stateDirectory, protectedPaths: Self.protectedPaths(of: loaded.spec, paths: paths))
        return SyncContext(loaded: loaded, lock: lock, tree: tree, paths: paths)
    }

    /// The project's own files, which sync never removes or writes over and `status` never calls
    /// extra, whatever their names and wherever the destination is: the spec, the lock, and every
    /// catalog the spec reads from this machine (the state folder is always protected).
    static func protectedPaths(of spec: Spec, paths: ProjectPaths) -> Set<URL> {
        var protected: Set<URL> = [paths.spec, paths.lock]
        for archive in spec.archivesByName.values where archive.kind == .index {
            if let location = archive.url, let catalog = IndexArchive.localCatalogFile(location: location, specDirectory: paths.directory) {
                protected.insert(catalog)
            }
        }
        return protected
    }
}

extension ArchiveCredentials {
    /// Where `entry`'s bytes come from, with what this archive's requests carry: its token
    /// source and SSH key, for its own hosts only. A relative `ssh_key:` is relative to the
    /// spec's folder (`lockDirectory`).
    func downloadSource(for entry: LockEntry, lockDirectory: URL) -> DownloadSource {
        let keyFile = sshKey.map { $0.hasPrefix("/") ? $0 : lockDirectory.appendingPathComponent($0).standardizedFileURL.path }
        return DownloadSource(url: entry.downloadURL(lockDirectory: lockDirectory), credentials: source, credentialHosts: hosts, sshKeyFile: keyFile)
    }
}
