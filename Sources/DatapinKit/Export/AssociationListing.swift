import DatapinLock
import DatapinSupport

extension LockListing {
    /// The locked files that record a calibration association (a science frame's association
    /// tree), sorted by dataset, restricted to `datasets` when that is not empty.
    public static func associations(_ lock: Lockfile, datasets: Set<String>) -> [LockEntry] {
        lock.files.filter { $0.association != nil && (datasets.isEmpty || datasets.contains($0.dataset)) }
            .sorted { ($0.dataset, $0.path) < ($1.dataset, $1.path) }
    }

    /// What `ls` prints after its table: one line per frame with the mode asked (and the one
    /// run when it differs), certified or not, complete or not and the tree's file count;
    /// empty when no locked file records an association.
    public static func renderAssociations(_ lock: Lockfile, datasets: Set<String>) -> String {
        let entries = associations(lock, datasets: datasets)
        guard !entries.isEmpty else { return "" }
        let rows = entries.compactMap { entry -> [String]? in
            guard let association = entry.association else { return nil }
            let files = association.files.map { ", \($0) file\($0 == 1 ? "" : "s")" } ?? ""
            return [entry.dataset, association.summary + files]
        }
        return "Calibration associations:\n" + TextTable.render(header: ["DATASET", "ASSOCIATION"], rows: rows)
    }

    /// The `associations` member of `ls --json`: per frame its dataset, the tree's path, the
    /// mode asked and run, `certified`, `complete` and the tree's file count.
    package static func associationsJSON(_ lock: Lockfile, datasets: Set<String>) -> OrderedJSON {
        .array(associations(lock, datasets: datasets).compactMap { entry in
            guard let association = entry.association else { return nil }
            return .object([
                ("dataset", .string(entry.dataset)),
                ("path", .string(entry.path)),
                ("mode", .string(association.modeName)),
                ("executed", .optional(association.executed)),
                ("certified", .bool(association.certified)),
                ("complete", .bool(association.complete)),
                ("files", association.files.map { .integer(Int64($0)) } ?? .null),
            ])
        })
    }
}
