import DatapinKit
import Foundation

extension SyncCommand {
    /// Writes MANIFEST.html and manifest.json, unless this run changed nothing and the ones in
    /// place already record this lock with every file complete. `users` says who each archive
    /// was fetched as (by archive name; an archive without one was fetched anonymously); it is
    /// asked only when a manifest is written, since it may ask the archives. `lock` holds every
    /// pin this sync wrote into datapin.lock, so the manifest shows them. Returns a warning when
    /// the manifest could not be written.
    func writeManifest(context: SyncContext, lock: Lockfile, report: SyncReport, credentials: [String: ArchiveCredentials], users: () -> [String: String]) -> [Diagnostic] {
        let stampURL = context.tree.stateDirectory.appendingPathComponent("manifest-stamp")
        let complete = report.failed.isEmpty && report.skippedForCredentials.isEmpty
        let stamp = "\(lock.specDigest) files \(lock.files.count) bytes \(lock.files.reduce(Int64(0)) { $0 + ($1.size ?? 0) }) pinned \(lock.files.reduce(0) { $0 + ($1.sha256 == nil ? 0 : 1) }) duplicates \(context.loaded.spec.duplicates.rawValue) complete\n"
        let unchanged = report.placed.isEmpty && report.pruned.isEmpty && report.duplicatesPlaced.isEmpty && complete
        let manifestsExist = [DownloadManifest.htmlFileName, DownloadManifest.jsonFileName].allSatisfy { FileManager.default.fileExists(atPath: context.tree.destination.appendingPathComponent($0).path) }
        if unchanged && manifestsExist && (try? String(contentsOf: stampURL, encoding: .utf8)) == stamp { return [] }
        try? FileManager.default.removeItem(at: stampURL)
        do {
            let manifest = ManifestBuilder.afterSync(lock: lock, duplicates: context.loaded.spec.duplicates, report: report, missingVariables: credentials.compactMapValues(\.missingVariable), users: users(),
                                                   recorded: DownloadManifest.recordedRows(in: context.tree.destination))
            try manifest.write(into: context.tree.destination)
            if complete { try? AtomicFile.write(stamp, to: stampURL) }
            return []
        } catch {
            return [Diagnostic(.warning, "the manifest could not be written: \(error.message)")]
        }
    }
}
