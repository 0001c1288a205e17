import DatapinSupport

/// What changes between two lockfiles, file by file (matched by path) and per dataset:
/// the substance of `datapin plan` and of a reviewer's reading of a lockfile diff.
public struct LockDiff: Sendable, Hashable {
    /// Files only in the new lock, sorted by path.
    public var added: [LockEntry]
    /// Files only in the old lock, sorted by path.
    public var removed: [LockEntry]
    /// Files in both whose entries differ, sorted by path.
    public var changed: [LockChange]

    /// Compares `old` (nil when there is no lock yet) with `new`.
    public init(old: Lockfile?, new: Lockfile) {
        let oldFiles = old?.files ?? []
        // Old entries by index, not by copy: a copy of 100,000 entries is 44 MB.
        var oldByPath: [[UInt8]: Int] = [:]
        oldByPath.reserveCapacity(oldFiles.count)
        for index in oldFiles.indices { oldByPath[Array(oldFiles[index].path.utf8)] = index }
        var newPaths: Set<[UInt8]> = []
        newPaths.reserveCapacity(new.files.count)
        var added: [LockEntry] = [], changed: [LockChange] = []
        for entry in new.files {
            let key = Array(entry.path.utf8)
            newPaths.insert(key)
            if let previous = oldByPath[key] {
                let fields = LockChange.differingKeys(oldFiles[previous], entry)
                if !fields.isEmpty { changed.append(LockChange(old: oldFiles[previous], new: entry, fields: fields)) }
            } else {
                added.append(entry)
            }
        }
        let removed = oldFiles.filter { !newPaths.contains(Array($0.path.utf8)) }
        self.added = Self.inPathOrder(added)
        self.removed = Self.inPathOrder(removed)
        self.changed = changed.sorted { Self.pathOrder($0.new, $1.new) }
    }

    /// True when no file is added, removed or changed.
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// One summary per dataset touched, sorted by name; a changed file counts under its new dataset.
    public var datasets: [DatasetChangeSummary] {
        var byName: [String: DatasetChangeSummary] = [:]
        func update(_ dataset: String, _ change: (inout DatasetChangeSummary) -> Void) {
            var summary = byName[dataset] ?? DatasetChangeSummary(dataset: dataset)
            change(&summary)
            byName[dataset] = summary
        }
        for entry in added {
            update(entry.dataset) { $0.addedFiles += 1; $0.addedBytes += entry.size ?? 0 }
        }
        for entry in removed {
            update(entry.dataset) { $0.removedFiles += 1; $0.removedBytes += entry.size ?? 0 }
        }
        for change in changed {
            update(change.new.dataset) { $0.changedFiles += 1; $0.changedBytesDelta += change.sizeDelta }
        }
        return byName.values.sorted { $0.dataset.utf8.lexicographicallyPrecedes($1.dataset.utf8) }
    }

    /// All datasets together, under the dataset name "".
    public var totals: DatasetChangeSummary {
        datasets.reduce(into: DatasetChangeSummary(dataset: "")) { total, summary in
            total.addedFiles += summary.addedFiles
            total.removedFiles += summary.removedFiles
            total.changedFiles += summary.changedFiles
            total.addedBytes += summary.addedBytes
            total.removedBytes += summary.removedBytes
            total.changedBytesDelta += summary.changedBytesDelta
        }
    }

    /// `entries` sorted by path; entries already in order are not copied into a sorted array.
    private static func inPathOrder(_ entries: [LockEntry]) -> [LockEntry] {
        let sorted = entries.indices.dropFirst().allSatisfy { !pathOrder(entries[$0], entries[$0 - 1]) }
        return sorted ? entries : entries.sorted(by: pathOrder)
    }

    private static func pathOrder(_ a: LockEntry, _ b: LockEntry) -> Bool {
        a.path.utf8.lexicographicallyPrecedes(b.path.utf8)
    }
}

/// One file present in both locks whose entry differs, with the lock keys that differ.
public struct LockChange: Sendable, Hashable {
    public var old: LockEntry
    public var new: LockEntry
    /// Lock keys whose values differ (`size`, `sha256`, …), in the lockfile's key order.
    public var fields: [String]

    public init(old: LockEntry, new: LockEntry, fields: [String]) {
        self.old = old
        self.new = new
        self.fields = fields
    }

    /// How many bytes the file grows by (negative when it shrinks); 0 when a size is unknown.
    public var sizeDelta: Int64 {
        guard let before = old.size, let after = new.size else { return 0 }
        return after - before
    }

    /// Each changed key with its value before and after, as `datapin plan -v` shows them.
    public var fieldChanges: [FieldChange] {
        Self.keyedValues.filter { fields.contains($0.key) }.map { FieldChange(field: $0.key, old: $0.value(old), new: $0.value(new)) }
    }

    /// The lock keys whose values differ between two entries, in the lockfile's key order.
    static func differingKeys(_ a: LockEntry, _ b: LockEntry) -> [String] {
        // Equal entries (the path aside, which is not a key here) give equal texts for every
        // key; only entries that differ somewhere have their values written out and compared.
        var same = a
        same.path = b.path
        if same == b { return [] }
        return keyedValues.filter { $0.value(a) != $0.value(b) }.map(\.key)
    }

    /// Every lock key an entry's change can be in, in the lockfile's key order, with its value
    /// as text (nil when the entry has none; lists as JSON arrays, so no two lists read alike).
    private static let keyedValues: [(key: String, value: @Sendable (LockEntry) -> String?)] = [
        ("archive", { $0.archive }),
        ("dataset", { $0.dataset }),
        ("uri", { $0.uri }),
        ("url", { $0.url }),
        ("size", { $0.size.map(String.init) }),
        ("sha256", { $0.sha256 }),
        ("checksum", { $0.checksum?.description }),
        ("modified", { $0.modified }),
        ("level", { $0.level }),
        ("suffix", { $0.suffix }),
        ("type", { $0.type?.rawValue }),
        ("access", { $0.access.rawValue }),
        ("instrument", { $0.instrument }),
        ("filters", { $0.filters }),
        ("association", { $0.association.map(LockWriter.flowMapping) }),
        ("also", { "[" + $0.also.map(JSONString.quoted).joined(separator: ", ") + "]" }),
        ("also_paths", { "[" + $0.alsoPaths.map(JSONString.quoted).joined(separator: ", ") + "]" }),
    ]
}

/// One lock key of a changed file, with its value before and after (nil: none).
public struct FieldChange: Sendable, Hashable {
    public var field: String
    public var old: String?
    public var new: String?
}

/// How one dataset's files change between two locks: counts and bytes.
public struct DatasetChangeSummary: Sendable, Hashable {
    public var dataset: String
    public var addedFiles: Int
    public var removedFiles: Int
    public var changedFiles: Int
    /// Sum of the known sizes of added files.
    public var addedBytes: Int64
    /// Sum of the known sizes of removed files.
    public var removedBytes: Int64
    /// Net growth of changed files whose old and new sizes are both known.
    public var changedBytesDelta: Int64

    public init(dataset: String, addedFiles: Int = 0, removedFiles: Int = 0, changedFiles: Int = 0, addedBytes: Int64 = 0, removedBytes: Int64 = 0, changedBytesDelta: Int64 = 0) {
        self.dataset = dataset
        self.addedFiles = addedFiles
        self.removedFiles = removedFiles
        self.changedFiles = changedFiles
        self.addedBytes = addedBytes
        self.removedBytes = removedBytes
        self.changedBytesDelta = changedBytesDelta
    }

    /// How many bytes the local tree grows by (negative when it shrinks).
    public var netBytes: Int64 { addedBytes - removedBytes + changedBytesDelta }
}
