/// Turns an `Encodable` value into `OrderedJSON`, members in the order the value encodes them
/// (a synthesized `encode(to:)` follows the declaration order), so that every `--json` document
/// comes from the one writer. Nil optionals are left out, as `JSONEncoder` leaves them out.
package enum OrderedJSONEncoder {
    /// Why a value could not be written as JSON (one plain sentence).
    package enum Failure: Error {
        case notRepresentable(String)

        package var message: String {
            switch self {
            case .notRepresentable(let what): return "\(what) cannot be written as JSON"
            }
        }
    }

    package static func encode<T: Encodable>(_ value: T) throws -> OrderedJSON {
        let root = Node()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        return try root.json()
    }

    /// A value being built: unset until a container or a scalar is stored in it. Members and
    /// items are appended in place, so a long array or a large object is built in linear time.
    final class Node {
        enum Kind {
            case unset
            case scalar(OrderedJSON)
            case object
            case array
        }

        var kind = Kind.unset
        private var keys: [String] = []
        private var members: [String: Node] = [:]
        private var items: [Node] = []

        var count: Int { items.count }

        func json() throws -> OrderedJSON {
            switch kind {
            case .unset: return .null
            case .scalar(let value): return value
            case .object: return .object(try keys.map { ($0, try members[$0]!.json()) })
            case .array: return .array(try items.map { try $0.json() })
            }
        }

        func member(_ key: String) -> Node {
            makeObject()
            if let existing = members[key] { return existing }
            let node = Node()
            keys.append(key)
            members[key] = node
            return node
        }

        func appended() -> Node {
            makeArray()
            let node = Node()
            items.append(node)
            return node
        }

        func makeObject() { if case .object = kind {} else { kind = .object } }
        func makeArray() { if case .array = kind {} else { kind = .array } }
    }

    struct NodeEncoder: Encoder {
        let node: Node
        var codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            node.makeObject()
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            node.makeArray()
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(node: node, codingPath: codingPath)
        }
    }

    /// Stores scalars and nested values into one node.
    static func store<T: Encodable>(_ value: T, in node: Node, codingPath: [any CodingKey]) throws {
        switch value {
        case let text as String: node.kind = .scalar(.string(text))
        case let flag as Bool: node.kind = .scalar(.bool(flag))
        case let number as Int: node.kind = .scalar(.integer(Int64(number)))
        case let number as Int32: node.kind = .scalar(.integer(Int64(number)))
        case let number as Int64: node.kind = .scalar(.integer(number))
        case let number as UInt32: node.kind = .scalar(.integer(Int64(number)))
        case is Double, is Float:
            throw Failure.notRepresentable("the fraction at \(codingPath.map(\.stringValue).joined(separator: "."))")
        default: try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        var codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).kind = .scalar(.null) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try OrderedJSONEncoder.store(value, in: node.member(key.stringValue), codingPath: codingPath + [key])
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = node.member(key.stringValue)
            child.makeObject()
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = node.member(key.stringValue)
            child.makeArray()
            return Unkeyed(node: child, codingPath: codingPath + [key])
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.member("super"), codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]
        var count: Int { node.count }

        mutating func encodeNil() throws { node.appended().kind = .scalar(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try OrderedJSONEncoder.store(value, in: node.appended(), codingPath: codingPath)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = node.appended()
            child.makeObject()
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = node.appended()
            child.makeArray()
            return Unkeyed(node: child, codingPath: codingPath)
        }
        mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.appended(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.kind = .scalar(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try OrderedJSONEncoder.store(value, in: node, codingPath: codingPath)
        }
    }
}
