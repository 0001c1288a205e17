import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinSupport
import Foundation

/// `datapin products`: every product the spec's dataset entries list, before selection, each
/// with whether its entry's `select` takes it or the key that leaves it out. It is how a user
/// chooses ids, levels and suffixes without another tool.
public struct ProductCatalog: Sendable {
    /// One listed product and what the entry's filters make of it.
    public struct Row: Sendable, Hashable {
        public var product: Product
        /// Nil when the entry's filters take the product; else why not ("excluded by levels: …").
        public var exclusion: String?
        public var isSelected: Bool { exclusion == nil }
    }

    /// The formats `products --format` offers.
    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json
    }

    /// The rows, by dataset (sorted), then file name, in the archives' own order of listing.
    public var rows: [Row]

    /// Asks every archive as `lock` does and keeps the products of `datasets` (all when empty);
    /// a name no entry lists is an error naming the datasets there are.
    public static func list(locker: Locker, datasets: Set<String>, progress: (@Sendable (ListingProgress) -> Void)? = nil) async throws(LockingError) -> ProductCatalog {
        let spec = locker.loaded.spec
        let listings = try await locker.listings(spec, progress: progress)
        var rows: [Row] = []
        var seen: Set<String> = []
        for group in listings.groups {
            guard let filter = try? ProductFilter(spec.select.overridden(by: group.entry.select)) else { continue }
            for product in group.products where seen.insert("\(product.dataset)\u{0}\(product.identity)").inserted {
                rows.append(Row(product: product, exclusion: filter.exclusion(of: product)))
            }
        }
        let listed = Set(rows.map(\.product.dataset))
        let unknown = datasets.subtracting(listed).sorted()
        if !unknown.isEmpty {
            let names = unknown.map { "'\($0)'" }.joined(separator: ", ")
            throw .invalid([Diagnostic(.error, "no dataset entry of the spec lists \(names); the datasets listed are \(listed.sorted().prefix(10).joined(separator: ", "))\(listed.count > 10 ? ", …" : "")")])
        }
        rows = rows.filter { datasets.isEmpty || datasets.contains($0.product.dataset) }
        rows.sort { ($0.product.dataset, $0.product.filename) < ($1.product.dataset, $1.product.filename) }
        return ProductCatalog(rows: rows)
    }

    /// The rows in `format`, ending with a newline.
    public func render(_ format: Format) -> String {
        switch format {
        case .table: return table
        case .csv: return csv
        case .json: return json
        }
    }

    private static func cells(_ product: Product) -> [String] {
        [product.level ?? "-", product.suffix ?? ProductFilter.suffix(ofFilename: product.filename) ?? "-", product.type?.rawValue ?? "-",
         product.access.rawValue, product.size.map(ByteSize.format) ?? "?"]
    }

    private var table: String {
        guard !rows.isEmpty else { return "The archives list no products for these datasets.\n" }
        var out = ""
        var datasets = 0
        for (dataset, group) in Dictionary(grouping: rows, by: \.product.dataset).sorted(by: { $0.key < $1.key }) {
            datasets += 1
            let selected = group.filter(\.isSelected).count
            out += "\(dataset)  (\(group.count) product\(group.count == 1 ? "" : "s"), \(selected) selected)\n"
            out += TextTable.render(header: ["LEVEL", "SUFFIX", "TYPE", "ACCESS", "SIZE", "FILE", "SELECTION"], rows: group.map { row in
                Self.cells(row.product) + [PathSafety.escaped(row.product.filename), row.exclusion ?? "selected"]
            })
        }
        let selected = rows.filter(\.isSelected).count
        out += "\(rows.count) product\(rows.count == 1 ? "" : "s") in \(datasets) dataset\(datasets == 1 ? "" : "s"), \(selected) selected\n"
        return out
    }

    private var csv: String {
        var out = CSVText.record(["Dataset", "Filename", "Product Level", "Suffix", "Type", "Access", "Size", "Recommended", "Selection", "URI"])
        for row in rows {
            let product = row.product
            out += CSVText.record([product.dataset, product.filename, product.level ?? "", product.suffix ?? ProductFilter.suffix(ofFilename: product.filename) ?? "",
                                   product.type?.rawValue ?? "", product.access.rawValue, product.size.map(String.init) ?? "", product.recommended ? "yes" : "no",
                                   row.exclusion ?? "selected", product.uri])
        }
        return out
    }

    private var json: String { jsonValue.document }

    /// The JSON form's members, for a document of the caller's (the CLI's `--json` envelope).
    package var jsonValue: OrderedJSON {
        OrderedJSON.object([
            ("products", .array(rows.map { row in
                let product = row.product
                return .object([
                    ("dataset", .string(product.dataset)),
                    ("filename", .string(product.filename)),
                    ("archive", .string(product.archive)),
                    ("level", .optional(product.level)),
                    ("suffix", .optional(product.suffix ?? ProductFilter.suffix(ofFilename: product.filename))),
                    ("type", .optional(product.type?.rawValue)),
                    ("access", .string(product.access.rawValue)),
                    ("size", product.size.map { .integer($0) } ?? .null),
                    ("recommended", .bool(product.recommended)),
                    ("selected", .bool(row.isSelected)),
                    ("excluded_by", .optional(row.exclusion)),
                    ("uri", .string(product.uri)),
                ])
            })),
        ])
    }
}
