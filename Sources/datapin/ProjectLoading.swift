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
            let loaded = try SpecLoader.load(contentsOf: paths.spec.path, file: paths.specDisplayName)
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
    /// entry, with a warning, so that locking again recovers; other damage ends with exit 2.
    func readLockKeepingPins() throws -> Lockfile? {
        let paths = self.paths
        guard FileManager.default.fileExists(atPath: paths.lock.path) else { return nil }
        do {
            let (lock, warnings) = try LockReader.readKeepingPins(contentsOf: paths.lock.path, file: paths.lockDisplayName)
            console.report(warnings)
            return lock
        } catch {
            throw console.fail(error.diagnostics, status: .badInput)
        }
    }

    /// Resolves the spec against its archives; errors end the command with exit 2 or 6.
    func resolve(_ loaded: LoadedSpec, previous: Lockfile?, update: UpdateScope) throws -> LockResolution {
        do {
            let resolution = try Locker(loaded: loaded, specDirectory: paths.directory).resolve(previous: previous, update: update)
            console.report(resolution.warnings)
            return resolution
        } catch {
            throw console.fail(error.diagnostics, status: error.exitStatus)
        }
    }
}
