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
            let loaded = try SpecLoader.load(text: try String(contentsOf: paths.spec, encoding: .utf8), file: paths.specDisplayName)
            console.report(loaded.warnings)
            return loaded
        } catch let error as DiagnosticList {
            throw console.fail(error.diagnostics, status: .badInput)
        } catch {
            throw console.fail([Diagnostic(.error, "cannot read \(paths.specDisplayName): \(error.localizedDescription)")], status: .badInput)
        }
    }

    /// The lockfile, or nil when there is none; a damaged lockfile ends the command with exit 2.
    func readLock() throws -> Lockfile? {
        let paths = self.paths
        guard FileManager.default.fileExists(atPath: paths.lock.path) else { return nil }
        do {
            return try LockReader.read(text: try String(contentsOf: paths.lock, encoding: .utf8), file: paths.lockDisplayName)
        } catch let error as DiagnosticList {
            throw console.fail(error.diagnostics, status: .badInput)
        } catch {
            throw console.fail([Diagnostic(.error, "cannot read \(paths.lockDisplayName): \(error.localizedDescription)")], status: .badInput)
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
