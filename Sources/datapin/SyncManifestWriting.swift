import DatapinKit
import Foundation

extension SyncCommand {
    /// Writes MANIFEST.html and manifest.json, unless this run changed nothing and the ones in
    /// place already record this lock with every file complete. `users` names who each archive
    /// was fetched as (by archive name); an archive without one was fetched anonymously.
    func writeManifest(context: SyncContext, report: SyncReport, credentials: [String: ArchiveCredentials], users: [String: String], console: Console) {
        let stampURL = context.tree.stateDirectory.appendingPathComponent("manifest-stamp")
        let complete = report.failed.isEmpty && report.skippedForCredentials.isEmpty
        let stamp = "\(context.lock.specDigest) files \(context.lock.files.count) bytes \(context.lock.files.reduce(Int64(0)) { $0 + ($1.size ?? 0) }) pinned \(context.lock.files.filter { $0.sha256 != nil }.count + report.pins.count) complete\n"
        let unchanged = report.placed.isEmpty && report.pruned.isEmpty && report.duplicatesPlaced.isEmpty && complete
        let manifestsExist = [SyncManifest.htmlFileName, SyncManifest.jsonFileName].allSatisfy { FileManager.default.fileExists(atPath: context.tree.destination.appendingPathComponent($0).path) }
        if unchanged && manifestsExist && (try? String(contentsOf: stampURL, encoding: .utf8)) == stamp { return }
        try? FileManager.default.removeItem(at: stampURL)
        let failed = Dictionary(report.failed.map { ($0.path, $0.failure.message) }, uniquingKeysWith: { first, _ in first })
        let skipped = Set(report.skippedForCredentials.map(\.path))
        var rows: [SyncManifest.Row] = []
        for entry in context.lock.files {
            let archive = credentials[entry.archive] ?? ArchiveCredentials()
            let user = users[entry.archive] ?? "anonymous"
            let sha256 = entry.sha256 ?? report.pins[entry.path]
            for path in [entry.path] + entry.alsoPaths {
                let status: SyncManifest.Status, detail: String?
                if skipped.contains(entry.path) {
                    (status, detail) = (.skipped, "exclusive access; set \(archive.missingVariable ?? "a token")")
                } else if let reason = failed[path] ?? failed[entry.path] {
                    (status, detail) = (.error, reason)
                } else {
                    (status, detail) = (.complete, nil)
                }
                rows.append(SyncManifest.Row(uri: entry.uri, file: path, access: entry.access.rawValue, status: status, user: user, sha256: sha256, size: entry.size, detail: detail))
            }
        }
        do {
            try SyncManifest(rows: rows, specDigest: context.lock.specDigest).write(into: context.tree.destination)
            if complete { try? AtomicFile.write(stamp, to: stampURL) }
        } catch {
            console.report([Diagnostic(.warning, "the manifest could not be written: \(error.message)")])
        }
    }
}
