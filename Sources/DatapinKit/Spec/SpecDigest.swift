import DatapinSupport

extension Spec {
    /// `sha256:<hex>` over a canonical text of what decides the lock's content: version, layout,
    /// duplicates, the archives the datasets use (name, kind, url, files), and each dataset entry
    /// in order with the filters that apply to it (the top-level `select` overridden by the
    /// entry's own). Writing style (comments, key order, quoting, flow or block, `cal` versus
    /// `_cal`, the order of values inside one filter or `where` condition) does not change it;
    /// `where` conditions are AND-ed and their values OR-ed, so both are sorted. Destination, manifest,
    /// case_sensitive (they say how the tree is written, not what is locked), credential variable
    /// names and source locations are not part of it.
    public var meaningDigest: String {
        "sha256:" + Hasher.sha256Name(of: canonicalMeaning.rendered)
    }

    /// The canonical form the digest is computed over: JSON with sorted keys and no spaces.
    var canonicalMeaning: CanonicalValue {
        let used = Set(datasets.map(\.archive))
        let usedArchives = archives.filter { used.contains($0.name) }.sorted { $0.name < $1.name }
        return .object([
            "format": .string("datapin-spec-meaning"),
            "version": .integer(Int64(version)),
            "layout": layout.canonical,
            "duplicates": .string(duplicates.rawValue),
            "archives": .list(usedArchives.map { archive in
                .object([
                    "name": .string(archive.name),
                    "kind": .string(archive.kind.rawValue),
                    "url": .optional(archive.url),
                    "files": .optional(archive.files),
                ])
            }),
            "datasets": .list(datasets.map { entry in
                .object([
                    "archive": .string(entry.archive),
                    "mission": .optional(entry.mission),
                    "ids": .strings(entry.ids),
                    "where": .list(entry.whereConditions.sorted { $0.name < $1.name }.map(\.canonical)),
                    "obsids": .strings(entry.obsids),
                    "adql": .optional(entry.adql),
                    "pids": .strings(entry.pids),
                    "calibrations": .optional(entry.calibrations?.rawValue),
                    "select": select.overridden(by: entry.select).canonical,
                ])
            }),
        ])
    }
}

extension Layout {
    fileprivate var canonical: CanonicalValue {
        switch self {
        case .nested: return .string("nested")
        case .flat: return .string("flat")
        case .template(let template): return .object(["template": .string(template)])
        }
    }
}

extension WhereCondition {
    /// Name and values; the values written as booleans or numbers are listed once more with
    /// their kind (absent when all are text, so that older digests stay as they were).
    fileprivate var canonical: CanonicalValue {
        var members: [String: CanonicalValue] = ["name": .string(name), "values": .set(values)]
        let typed = zip(kinds, values).filter { $0.0 != .text }.map { "\($0.0.rawValue):\($0.1)" }
        if !typed.isEmpty { members["typed"] = .set(typed) }
        return .object(members)
    }
}

extension SelectFilters {
    /// Values inside one filter are OR-ed, so they are sorted and de-duplicated; the three
    /// switches mean the same when absent as when false.
    fileprivate var canonical: CanonicalValue {
        .object([
            "levels": .set(levels),
            "suffixes": .set(suffixes),
            "extensions": .set(extensions),
            "types": .set(types?.map(\.rawValue)),
            "match": .set(match?.map { $0.lowercased() }),
            "include": .set(include?.map(\.source)),
            "exclude": .set(exclude?.map(\.source)),
            "recommended": .boolean(recommended ?? false),
            "guidestar": .boolean(guidestar ?? false),
            "calibration_references": .boolean(calibrationReferences ?? false),
            "access": .set(access?.map(\.rawValue)),
            "max_size": maxSize.map { .integer($0) } ?? .null,
        ])
    }
}

/// A JSON value rendered canonically (sorted keys, no whitespace), for digests of meaning.
enum CanonicalValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    case integer(Int64)
    case string(String)
    case list([CanonicalValue])
    case object([String: CanonicalValue])

    static func optional(_ text: String?) -> CanonicalValue {
        text.map { .string($0) } ?? .null
    }

    static func strings(_ texts: [String]) -> CanonicalValue {
        .list(texts.map { .string($0) })
    }

    /// An unordered set of strings: sorted, without repeats; nil stays null.
    static func set(_ texts: [String]?) -> CanonicalValue {
        texts.map { .strings(Array(Set($0)).sorted()) } ?? .null
    }

    var rendered: String {
        switch self {
        case .null: return "null"
        case .boolean(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .string(let text): return JSONString.quoted(text)
        case .list(let items): return "[" + items.map(\.rendered).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { JSONString.quoted($0.key) + ":" + $0.value.rendered }.joined(separator: ",") + "}"
        }
    }
}
