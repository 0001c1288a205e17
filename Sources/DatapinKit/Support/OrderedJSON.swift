/// A JSON value with object members in a fixed order, written by hand so that reports
/// (`plan --format json`, `outdated --json`) are byte-identical for the same content.
package indirect enum OrderedJSON {
    case null
    case bool(Bool)
    case integer(Int64)
    case string(String)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    /// A string, or null when there is none.
    package static func optional(_ text: String?) -> OrderedJSON {
        text.map(OrderedJSON.string) ?? .null
    }

    /// The document, pretty-printed with two-space indentation, ending with a newline.
    package var document: String { rendered(indent: "") + "\n" }

    /// Pretty-printed with two-space indentation; arrays of scalars stay on one line.
    package func rendered(indent: String) -> String {
        let inner = indent + "  "
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .string(let value): return JSONString.quoted(value)
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) { return "[" + items.map { $0.rendered(indent: inner) }.joined(separator: ", ") + "]" }
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            return "{\n" + members.map { inner + JSONString.quoted($0.0) + ": " + $0.1.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }
}
