import DatapinLock
import DatapinSpec
import DatapinSync
import Foundation

/// Makes the download manifest's rows, for `sync` (from the run's report) and for `export
/// manifest` (from the lock and the local tree). Rows: every locked file at its path, then for
/// every other dataset that lists it (`also`) a "Duplicate of file X in folder Y" row — at the
/// duplicate's own path with `duplicates: link|copy`, else at `<dataset>/<name>`, where MAST's
/// manifest would list it.
public enum ManifestBuilder {
    /// What became of one locked path (a file's own path or one of its `alsoPaths`).
    public enum Outcome: Sendable, Hashable {
        case inPlace
        case skippedNoToken
        case failed(String)
        case missing(String)
        case modified(String)
    }

    /// The manifest a sync writes: statuses from `report`, the variable to set for a skipped
    /// file from `missingVariables` (the credential variables each archive lacks, by archive name). A file this run fetched was fetched as `users[archive]`
    /// ("anonymous" without one); a file already in place keeps the user the previous manifest
    /// (`recorded`) names for it, when its URI still matches.
    public static func afterSync(lock: Lockfile, duplicates: DuplicatePolicy, report: SyncReport, missingVariables: [String: String], users: [String: String], recorded: [String: DownloadManifest.RecordedRow] = [:]) -> DownloadManifest {
        let failed = Dictionary(report.failed.map { ($0.path, $0.failure.message) }, uniquingKeysWith: { first, _ in first })
        let skipped = Set(report.skippedForCredentials.map(\.path))
        let fetched = Set(report.placed)
        return build(lock: lock, duplicates: duplicates, sha256: { $0.sha256 ?? report.pins[$0.path] }, state: { entry, path in
            let outcome: Outcome
            if skipped.contains(entry.path) {
                outcome = .skippedNoToken
            } else if let reason = failed[path] ?? failed[entry.path] {
                outcome = .failed(reason)
            } else {
                outcome = .inPlace
            }
            let detail = outcome == .skippedNoToken ? missingVariables[entry.archive].map { "set \($0)" } : nil
            let current = users[entry.archive] ?? "anonymous"
            let earlier = fetched.contains(entry.path) ? nil : recorded[path].flatMap { $0.uri == entry.uri ? $0.user : nil }
            return (outcome, earlier ?? current, detail)
        })
    }

    /// The manifest `export manifest` renders without any network: statuses from the tree as
    /// `status` found it. A file that is not in place keeps the failure or skip the last sync
    /// recorded for it (`recorded`, from the manifest.json in destination, when its URI still
    /// matches); otherwise it is "missing: not downloaded yet" (or "…partly downloaded…").
    /// Users come from `recorded` too, else "anonymous".
    public static func fromTree(lock: Lockfile, duplicates: DuplicatePolicy, status: TreeStatus, recorded: [String: DownloadManifest.RecordedRow]) -> DownloadManifest {
        let missing = Set(status.missing.map(\.path))
        let partial = Set(status.partial.map(\.path))
        let modified = Dictionary(status.modified.map { ($0.path, $0.reason) }, uniquingKeysWith: { first, _ in first })
        let unplaced = Dictionary(status.unplaced.map { ($0.path, $0.reason) }, uniquingKeysWith: { first, _ in first })
        return build(lock: lock, duplicates: duplicates, sha256: \.sha256, state: { entry, path in
            let previous = recorded[path].flatMap { $0.uri == entry.uri ? $0 : nil }
            let user = previous?.user ?? "anonymous"
            let carried = previous.flatMap { DownloadManifest.Status(recorded: $0.status) }
            let outcome: Outcome
            if let reason = modified[path] {
                outcome = .modified(reason)
            } else if path == entry.path, missing.contains(path) || partial.contains(path) {
                switch carried {
                case .skippedNoToken?: outcome = .skippedNoToken
                case .failed(let reason)?: outcome = .failed(reason)
                default: outcome = .missing(partial.contains(path) ? "partly downloaded; `datapin sync` resumes it" : "not downloaded yet")
                }
            } else if let reason = unplaced[path] {
                if case .failed(let text)? = carried {
                    outcome = .failed(text)
                } else if reason == "missing" {
                    outcome = .missing(missing.contains(entry.path) || partial.contains(entry.path) ? "not downloaded yet" : "not placed yet; `datapin sync` places it")
                } else {
                    outcome = .modified(reason)
                }
            } else {
                outcome = .inPlace
            }
            return (outcome, user, nil)
        })
    }

    /// Rows for every locked file and every other dataset listing it; `state` says what became
    /// of one path of an entry, who it was fetched as, and any detail.
    static func build(lock: Lockfile, duplicates: DuplicatePolicy, sha256: (LockEntry) -> String?,
                      state: (LockEntry, String) -> (Outcome, String, String?)) -> DownloadManifest {
        var rows: [DownloadManifest.Row] = []
        for entry in lock.files {
            let digest = sha256(entry)
            func row(_ file: String, _ status: DownloadManifest.Status, _ user: String, _ detail: String?) -> DownloadManifest.Row {
                DownloadManifest.Row(uri: entry.uri, file: file, access: entry.access.rawValue, status: status, user: user, sha256: digest, size: entry.size, detail: detail)
            }
            let (outcome, user, detail) = state(entry, entry.path)
            rows.append(row(entry.path, status(of: outcome, orElse: .ok), user, detail))
            let name = CSVExport.filename(of: entry)
            let folder = (entry.path as NSString).deletingLastPathComponent
            let ownerFolder = folder.isEmpty ? "." : folder
            for listing in duplicateListings(of: entry) {
                if let path = listing.path {
                    let (outcome, user, detail) = state(entry, path)
                    let placed: DuplicatePolicy = duplicates == .copy ? .copy : .link
                    rows.append(row(path, status(of: outcome, orElse: .duplicate(file: name, folder: ownerFolder, placed: placed)), user, detail))
                } else if let dataset = listing.dataset {
                    let (_, user, _) = state(entry, entry.path)
                    rows.append(row(dataset.replacingOccurrences(of: "/", with: "_") + "/" + name, .duplicate(file: name, folder: ownerFolder, placed: .once), user, nil))
                }
            }
        }
        return DownloadManifest(rows: rows, specDigest: lock.specDigest)
    }

    private static func status(of outcome: Outcome, orElse inPlace: DownloadManifest.Status) -> DownloadManifest.Status {
        switch outcome {
        case .inPlace: return inPlace
        case .skippedNoToken: return .skippedNoToken
        case .failed(let reason): return .failed(reason)
        case .missing(let reason): return .missing(reason)
        case .modified(let reason): return .modified(reason)
        }
    }

    /// Each other dataset listing `entry` with the duplicate path that is its place, when it has
    /// one: the lock keeps `also` and `alsoPaths` as separate lists, so a path goes to the dataset
    /// whose name is one of its folders, and any path left over to a dataset still without one.
    static func duplicateListings(of entry: LockEntry) -> [(dataset: String?, path: String?)] {
        var remaining = entry.alsoPaths
        var listings: [(dataset: String?, path: String?)] = entry.also.map { dataset in
            let folder = dataset.replacingOccurrences(of: "/", with: "_")
            guard let index = remaining.firstIndex(where: { $0.split(separator: "/").dropLast().contains { $0 == folder } }) else { return (dataset, nil) }
            return (dataset, remaining.remove(at: index))
        }
        for index in listings.indices where listings[index].path == nil && !remaining.isEmpty {
            listings[index].path = remaining.removeFirst()
        }
        return listings + remaining.map { (nil, $0) }
    }
}
