import DatapinSupport

/// What `datapin outdated` found: the locked files whose archives now list them differently,
/// by dataset, as text for a terminal or JSON for scripts.
public struct OutdatedReport: Sendable, Hashable {
    /// Locked files compared with their archive's current listing.
    public var checked: Int
    /// Files that differ upstream, sorted by dataset, then path.
    public var files: [OutdatedFile]
    /// Locked files of archives the spec no longer names, which nobody could be asked about.
    public var unchecked: [LockEntry]

    public init(checked: Int, files: [OutdatedFile], unchecked: [LockEntry] = []) {
        self.checked = checked
        self.files = files.sorted { ($0.entry.dataset, $0.entry.path) < ($1.entry.dataset, $1.entry.path) }
        self.unchecked = unchecked.sorted { $0.path < $1.path }
    }

    /// True when every checked file is as its archive lists it.
    public var isEmpty: Bool { files.isEmpty }

    /// The report, ending with a newline.
    public func render(json: Bool) -> String {
        json ? jsonDocument : text
    }

    private var datasetCount: Int { Set(files.map(\.entry.dataset)).count }

    private var text: String {
        var lines: [String] = []
        var dataset: String?
        for file in files {
            if file.entry.dataset != dataset {
                dataset = file.entry.dataset
                let count = files.filter { $0.entry.dataset == file.entry.dataset }.count
                lines.append("\(file.entry.dataset): \(count) file\(count == 1 ? "" : "s") changed upstream")
            }
            lines.append("  \(PathSafety.escaped(file.entry.path)): " + file.changes.map(\.phrase).joined(separator: "; "))
        }
        if files.isEmpty {
            switch checked {
            case 0: lines.append("No locked file to compare")
            case 1: lines.append("The locked file is as its archive lists it")
            default: lines.append("All \(checked) locked files are as their archives list them")
            }
        } else {
            let datasets = datasetCount
            lines.append("\(files.count) of \(checked) locked file\(checked == 1 ? "" : "s") changed upstream in \(datasets) dataset\(datasets == 1 ? "" : "s"); `datapin plan --update` shows what `datapin lock --update` would take")
        }
        let archives = Set(unchecked.map(\.archive)).sorted()
        if !archives.isEmpty {
            let names = archives.map { "'\($0)'" }.joined(separator: ", ")
            lines.append("Not checked: \(unchecked.count) locked file\(unchecked.count == 1 ? "" : "s") of \(names), which the spec no longer names; `datapin lock` drops them")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private var jsonDocument: String { jsonValue.document }

    /// The JSON form's members, for a document of the caller's (the CLI's `--json` envelope).
    package var jsonValue: OrderedJSON {
        OrderedJSON.object([
            ("outdated", .bool(!files.isEmpty)),
            ("checked", .integer(Int64(checked))),
            ("datasets", .integer(Int64(datasetCount))),
            ("files", .array(files.map { file in
                .object([
                    ("path", .string(file.entry.path)),
                    ("dataset", .string(file.entry.dataset)),
                    ("archive", .string(file.entry.archive)),
                    ("uri", .string(file.entry.uri)),
                    ("changes", .array(file.changes.map { change in
                        .object([
                            ("field", .string(change.field)),
                            ("locked", .optional(change.values.locked)),
                            ("listed", .optional(change.values.listed)),
                            ("reason", .string(change.phrase)),
                        ])
                    })),
                ])
            })),
            ("unchecked", .array(unchecked.map { .string($0.path) })),
        ])
    }
}
