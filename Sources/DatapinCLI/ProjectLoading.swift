import ArgumentParser
import DatapinKit
import Foundation

extension GlobalOptions {
    /// The spec, loaded and validated; on any error the diagnostics are printed and the command
    /// ends with exit 2.
    func loadSpec() throws -> LoadedSpec {
        let paths = self.paths
        guard FileManager.default.fileExists(atPath: paths.spec.path) else {
            throw console.fail([Diagnostic(.error, "no \(paths.specDisplayName) here; run `datapin init` to write a starter spec, or name one with --spec FILE")], status: .badInput)
        }
        do {
            let loaded = try SpecLoader.load(contentsOf: paths.spec.path, file: paths.specDisplayName, grammar: ArchiveRegistry.grammar)
            console.report(loaded.warnings)
            return loaded
        } catch {
            throw console.fail(error.diagnostics, status: .badInput)
        }
    }

    /// The lockfile, or nil when there is none; a damaged lockfile, or one cut short, ends the
    /// command with exit 2.
    func readLock() throws -> Lockfile? {
        let paths = self.paths
        guard FileManager.default.fileExists(atPath: paths.lock.path) else { return nil }
        do {
            return try LockReader.read(contentsOf: paths.lock.path, file: paths.lockDisplayName)
        } catch {
            throw console.fail(error.diagnostics, status: .badInput)
        }
    }

    /// The lockfile for the pins `datapin lock` keeps: one cut short is read without its last
    /// entry, with a warning, and one damaged otherwise is shown as warnings and left out, so
    /// that locking again always recovers (nil: lock afresh).
    func readLockKeepingPins() throws -> Lockfile? {
        let paths = self.paths
        guard FileManager.default.fileExists(atPath: paths.lock.path) else { return nil }
        do {
            let (lock, warnings) = try LockReader.readKeepingPins(contentsOf: paths.lock.path, file: paths.lockDisplayName)
            console.report(warnings)
            return lock
        } catch {
            // Every other command says to run `datapin lock` on a damaged lock, so locking must
            // get past it: the damage is shown, and the lock is made afresh without its pins.
            let damage = error.diagnostics.map { diagnostic in
                var warning = diagnostic
                warning.severity = .warning
                return warning
            }
            console.report(damage + [Diagnostic(.warning, "\(paths.lockDisplayName) cannot be read, so it is locked afresh without its pins; files already synced here are pinned again by the next `datapin sync`")])
            return nil
        }
    }

    /// Resolves the spec against its archives, at most `listing.jobs` requests to one host at
    /// a time, showing how far listing got on a terminal; errors end the command with exit 2, 5 or 6.
    func resolve(_ loaded: LoadedSpec, previous: Lockfile?, update: UpdateScope, listing: ListingOptions) throws -> LockResolution {
        let distrusted = previous.map { UpstreamMismatches.load(stateDirectory: paths.stateDirectory).paths(in: $0) } ?? []
        let resolution = try listArchives(loaded, listing: listing) { locker, progress throws(LockingError) in
            try await locker.resolve(previous: previous, update: update, distrustedPins: distrusted, progress: progress)
        }
        console.report(resolution.warnings)
        return resolution
    }

    /// Asks the spec's archives whether the locked files changed upstream (`datapin outdated`),
    /// with the same limits, progress and exit statuses as `resolve`.
    func checkUpstream(_ loaded: LoadedSpec, lock: Lockfile, listing: ListingOptions) throws -> OutdatedReport {
        try listArchives(loaded, listing: listing) { locker, progress throws(LockingError) in
            try await UpstreamCheck(locker: locker).run(lock: lock, progress: progress)
        }
    }

    /// Every product the spec's entries list, with what `select` makes of it (`datapin products`).
    func listProducts(_ loaded: LoadedSpec, datasets: Set<String>, listing: ListingOptions) throws -> ProductCatalog {
        try listArchives(loaded, listing: listing) { locker, progress throws(LockingError) in
            try await ProductCatalog.list(locker: locker, datasets: datasets, progress: progress)
        }
    }

    /// Runs `work` with a locker for the spec and the listing progress line, off the main thread.
    private func listArchives<T: Sendable>(_ loaded: LoadedSpec, listing: ListingOptions, _ work: @escaping @Sendable (Locker, (@Sendable (ListingProgress) -> Void)?) async throws(LockingError) -> T) throws -> T {
        let locker = Locker(loaded: loaded, specDirectory: paths.directory, jobs: listing.jobs)
        let line = ListingProgressLine.enabled(for: self) ? ListingProgressLine() : nil
        let progress: (@Sendable (ListingProgress) -> Void)? = line.map { line in { @Sendable shown in line.show(shown) } }
        let result: T
        do throws(LockingError) {
            result = try MainThreadWait.result { () async throws(LockingError) -> T in
                try await work(locker, progress)
            }
        } catch {
            line?.finish()
            throw console.fail(error.diagnostics, status: error.exitStatus)
        }
        line?.finish()
        return result
    }
}
