import Foundation
import DatapinSupport

/// The JSON Schema of `datapin.yaml`, generated from the common keys below and the archive
/// kinds' grammar. `datapin schema` prints it, `schema/datapin.schema.json` is its committed
/// copy (a test checks they are the same), and `datapin init` writes it into `.datapin/` so
/// editors validate the spec offline.
public enum SpecSchema {
    public static let fileName = "datapin.schema.json"

    /// Keys at the top level of the spec.
    public static let topKeys = ["version", "destination", "layout", "duplicates", "manifest", "case_sensitive", "archives", "select", "datasets"]

    /// The `select:` filters, with their schema and one line each.
    static var selectFilters: [(name: String, schema: OrderedJSON, description: String?)] { [
        ("levels", stringOrList(numbersAllowed: true), "Product levels or categories: 1b 2a 2b 3, CALIBRATED, 2 (CAOM calib_level); case-insensitive."),
        ("suffixes", stringOrList(numbersAllowed: false), "File suffixes; \"cal\", \"_cal\" and \"CAL\" are the same."),
        ("extensions", stringOrList(numbersAllowed: false), "File name endings such as .fits or .fits.gz."),
        ("types", choiceOrList(ProductType.allCases.map(\.rawValue)), "Product types (case-insensitive in the spec)."),
        ("match", stringOrList(numbersAllowed: false), "Case-insensitive substrings of the file name, instrument or filters."),
        ("include", stringOrList(numbersAllowed: false), "Regular expressions (JavaScript-like); a file name must match one."),
        ("exclude", stringOrList(numbersAllowed: false), "Regular expressions; a file name must match none."),
        ("recommended", .object([("type", .string("boolean"))]), "true: minimum recommended products only."),
        ("guidestar", .object([("type", .string("boolean"))]), "Guide-star files are out unless true."),
        ("calibration_references", .object([("type", .string("boolean"))]), "Pipeline reference files are out unless true."),
        ("access", choiceOrList(Access.allCases.map(\.rawValue)), nil),
        ("max_size", .object([("oneOf", .array([
            .object([("type", .string("integer")), ("minimum", .integer(0))]),
            .object([("type", .string("string")), ("pattern", .string(#"^\s*[0-9]+(\.[0-9]+)?\s*([kKMGTP]i?B|B|bytes?)?\s*$"#))]),
        ]))]), "Largest file to take: bytes, or \"2 GB\", \"500 MiB\"."),
    ] }

    /// The names of the `select:` filters.
    public static var selectKeys: [String] { selectFilters.map(\.name) }

    /// The schema for `grammar`, as `schema/datapin.schema.json` holds it (without the final newline).
    public static func json(for grammar: SpecGrammar) -> String {
        document(for: grammar).rendered(indent: "")
    }

    static func document(for grammar: SpecGrammar) -> OrderedJSON {
        let kindNames = grammar.kinds.map { OrderedJSON.string($0.kind.rawValue) }
        let archiveProperties: [(String, OrderedJSON)] = [("type", .object([("enum", .array(kindNames))]))]
            + grammar.allArchiveKeys.map { key in (key.name, schema(of: key, declarations: grammar.kinds.compactMap { kind in kind.archiveKey(key.name).map { (kind.kind, $0) } })) }
        let perKind: [OrderedJSON] = grammar.kinds.map { kind in
            .object([
                ("if", .object([("properties", .object([("type", .object([("const", .string(kind.kind.rawValue))]))])), ("required", .array([.string("type")]))])),
                ("then", .object([("propertyNames", .object([("enum", .array((["type"] + kind.archiveKeys.map(\.name)).map(OrderedJSON.string)))]))])),
            ])
        }
        let datasetProperties: [(String, OrderedJSON)] = [("archive", .object([("type", .string("string"))]))]
            + grammar.allDatasetKeys.map { key in (key.name, schema(of: key, declarations: grammar.kinds.compactMap { kind in kind.datasetKey(key.name).map { (kind.kind, $0) } })) }
            + [("select", .object([("$ref", .string("#/$defs/select"))]))]
        let filters: [(String, OrderedJSON)] = selectFilters.map { filter in
            (filter.name, filter.description.map { filter.schema.adding("description", .string($0)) } ?? filter.schema)
        }
        return .object([
            ("$schema", .string("https://json-schema.org/draft/2020-12/schema")),
            ("$id", .string(fileName)),
            ("title", .string("datapin selection spec (datapin.yaml)")),
            ("type", .string("object")),
            ("required", .array([.string("version"), .string("datasets")])),
            ("additionalProperties", .bool(false)),
            ("properties", .object([
                ("version", .object([("const", .integer(1))])),
                ("destination", .object([("type", .string("string")), ("description", .string("Root of the synced tree, relative to the spec."))])),
                ("layout", .object([
                    ("oneOf", .array([
                        .object([("enum", .array([.string("nested"), .string("flat")]))]),
                        .object([("type", .string("string")), ("pattern", .string(#"\{filename\}"#))]),
                    ])),
                    ("description", .string("nested: <dataset>/<file>; flat: <file>; or a template with \(Layout.placeholders.map { "{\($0)}" }.joined(separator: " ")).")),
                ])),
                ("duplicates", .object([("enum", .array(DuplicatePolicy.allCases.map { .string($0.rawValue) }))])),
                ("manifest", .object([("type", .string("boolean"))])),
                ("case_sensitive", .object([("type", .string("boolean")), ("description", .string("true when the destination's file system tells Data.bin from data.bin; by default paths differing only in case are refused."))])),
                ("archives", .object([
                    ("type", .string("object")),
                    ("additionalProperties", .object([
                        ("type", .string("object")),
                        ("additionalProperties", .bool(false)),
                        ("properties", .object(archiveProperties)),
                        ("allOf", .array(perKind)),
                    ])),
                ])),
                ("select", .object([("$ref", .string("#/$defs/select"))])),
                ("datasets", .object([
                    ("type", .string("array")),
                    ("items", .object([
                        ("type", .string("object")),
                        ("required", .array([.string("archive")])),
                        ("additionalProperties", .bool(false)),
                        ("properties", .object(datasetProperties)),
                    ])),
                ])),
            ])),
            ("$defs", .object([
                ("select", .object([
                    ("type", .string("object")),
                    ("description", .string("Filters: values inside one key are OR-ed, keys are AND-ed; an absent key filters nothing (guidestar and calibration_references default to false).")),
                    ("additionalProperties", .bool(false)),
                    ("properties", .object(filters)),
                ])),
            ])),
        ])
    }

    /// A key's schema (from its first declaration) with what each kind that takes it says of it.
    static func schema(of key: SpecKey, declarations: [(kind: ArchiveKind, key: SpecKey)]) -> OrderedJSON {
        let description = declarations.map { "\($0.kind.rawValue): \($0.key.description)" }.joined(separator: " ")
        return schema(of: key.type).adding("description", .string(description))
    }

    /// The schema of a value of `type`.
    static func schema(of type: SpecKeyType) -> OrderedJSON {
        switch type {
        case .text, .url: return .object([("type", .string("string"))])
        case .word: return .object([("type", .string("string")), ("pattern", .string("^[A-Za-z0-9][A-Za-z0-9_-]*$"))])
        case .variableName: return .object([("type", .string("string")), ("pattern", .string("^[A-Za-z_][A-Za-z0-9_]*$"))])
        case .list(let numbersAllowed): return stringOrList(numbersAllowed: numbersAllowed)
        case .conditions: return .object([("type", .string("object")), ("additionalProperties", stringOrList(numbersAllowed: true))])
        case .choice(let choices): return .object([("enum", .array(choices.map(OrderedJSON.string)))])
        }
    }

    static func stringOrList(numbersAllowed: Bool) -> OrderedJSON {
        let item: OrderedJSON = numbersAllowed ? .object([("type", .array([.string("string"), .string("number")]))]) : .object([("type", .string("string"))])
        return .object([("oneOf", .array([item, .object([("type", .string("array")), ("items", item)])]))])
    }

    static func choiceOrList(_ choices: [String]) -> OrderedJSON {
        let item = OrderedJSON.object([("enum", .array(choices.map(OrderedJSON.string)))])
        return .object([("oneOf", .array([item, .object([("type", .string("array")), ("items", item)])]))])
    }
}

extension OrderedJSON {
    /// This object with `key` set to `value` at its end.
    func adding(_ key: String, _ value: OrderedJSON) -> OrderedJSON {
        guard case .object(let pairs) = self else { return self }
        return .object(pairs + [(key, value)])
    }
}
