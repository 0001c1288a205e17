import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinSupport
import Foundation

/// Renders the locked selection for `datapin ls`: a table grouped by dataset, CSV, or JSON.
public enum LockListing {
    /// The formats `ls --format` offers.
    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json
    }

    /// The CSV header: MAST's overlay columns first, then what the lock adds.
    public static let csvColumns = ["Dataset", "Path", "Filename", "Product Level", "Suffix", "Type", "Access", "Instrument", "Filter / Grating", "Size", "SHA256", "URI", "URL"]

    /// `lock` rendered in `format`; `datasets` (when not empty) keeps only files those datasets list.
    public static func render(_ lock: Lockfile, datasets: Set<String>, format: Format) -> String {
        let files = listed(lock, datasets: datasets)
        switch format {
        case .table: return table(files, datasets: datasets)
        case .csv: return csv(files)
        case .json: return json(files)
        }
    }

    /// Files grouped under every dataset that lists them (a shared file appears under each),
    /// restricted to `datasets` when that is not empty.
    private static func groups(_ files: [LockEntry], datasets: Set<String>) -> [(dataset: String, files: [LockEntry])] {
        var byDataset: [String: [LockEntry]] = [:]
        for entry in files {
            for dataset in [entry.dataset] + entry.also where datasets.isEmpty || datasets.contains(dataset) {
                byDataset[dataset, default: []].append(entry)
            }
        }
        return byDataset.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    private static func table(_ files: [LockEntry], datasets: Set<String>) -> String {
        guard !files.isEmpty else { return "No files are locked.\n" }
        var out = ""
        let groups = groups(files, datasets: datasets)
        for (dataset, entries) in groups {
            let bytes = entries.reduce(Int64(0)) { $0 + ($1.size ?? 0) }
            out += "\(dataset)  (\(entries.count) file\(entries.count == 1 ? "" : "s"), \(ByteSize.format(bytes)))\n"
            let rows = entries.map { entry in
                [entry.level ?? "-", entry.suffix ?? "-", entry.type?.rawValue ?? "-", entry.access.rawValue,
                 entry.size.map(ByteSize.format) ?? "?", entry.sha256 == nil ? "-" : "pinned", entry.path + Self.sharing(entry, shownUnder: dataset)]
            }
            out += TextTable.render(header: ["LEVEL", "SUFFIX", "TYPE", "ACCESS", "SIZE", "SHA256", "PATH"], rows: rows)
        }
        let bytes = files.reduce(Int64(0)) { $0 + ($1.size ?? 0) }
        out += "\(files.count) file\(files.count == 1 ? "" : "s"), \(ByteSize.format(bytes)), \(groups.count) dataset\(groups.count == 1 ? "" : "s")\n"
        return out
    }

    /// "(also in …)" naming the other datasets that list a shared file.
    private static func sharing(_ entry: LockEntry, shownUnder dataset: String) -> String {
        let others = ([entry.dataset] + entry.also).filter { $0 != dataset }
        return others.isEmpty ? "" : "  (also in \(others.joined(separator: ", ")))"
    }

    private static func csv(_ files: [LockEntry]) -> String {
        var out = CSVText.record(csvColumns)
        for entry in files {
            let filename = CSVExport.filename(of: entry)
            let fields = [entry.dataset, entry.path, filename, entry.level ?? "", entry.suffix ?? "", entry.type?.rawValue ?? "", entry.access.rawValue,
                          entry.instrument ?? "", entry.filters ?? "", entry.size.map(String.init) ?? "", entry.sha256 ?? "", entry.uri, entry.url]
            out += CSVText.record(fields)
        }
        return out
    }

    private struct Record: Encodable {
        var path, archive, dataset, uri, url: String
        var size: Int64?
        var sha256: String?
        var checksum: String?
        var level, suffix, type: String?
        var access: String
        var instrument, filters: String?
        var also: [String]
    }

    private static func json(_ files: [LockEntry]) -> String {
        jsonValue(files).document
    }

    /// The files of `lock` that `datasets` (when not empty) list.
    private static func listed(_ lock: Lockfile, datasets: Set<String>) -> [LockEntry] {
        lock.files.filter { datasets.isEmpty || datasets.contains($0.dataset) || !datasets.isDisjoint(with: $0.also) }
    }

    /// The JSON form's members (`files`), for a document of the caller's (the CLI's envelope).
    package static func jsonValue(_ lock: Lockfile, datasets: Set<String>) -> OrderedJSON {
        jsonValue(listed(lock, datasets: datasets))
    }

    private static func jsonValue(_ files: [LockEntry]) -> OrderedJSON {
        let records = files.map {
            Record(path: $0.path, archive: $0.archive, dataset: $0.dataset, uri: $0.uri, url: $0.url, size: $0.size, sha256: $0.sha256, checksum: $0.checksum?.description,
                   level: $0.level, suffix: $0.suffix, type: $0.type?.rawValue, access: $0.access.rawValue, instrument: $0.instrument, filters: $0.filters, also: $0.also)
        }
        return .object([("files", .array(records.map { (try? OrderedJSONEncoder.encode($0)) ?? .null }))])
    }
}
