import CLibYAML
import Foundation

/// A position in a text file, 1-based, as editors and compilers print it.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One node of a parsed YAML document, with the place it was written, so that every later
/// error can point at the exact line and column.
public struct YAMLNode: Sendable, Hashable {
    /// What a node holds: a scalar with its quoting, a sequence, or an ordered mapping.
    public indirect enum Value: Sendable, Hashable {
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var value: Value
    public var location: SourceLocation
    /// An explicit tag such as `!!str`, when the author wrote one.
    public var tag: String?

    public init(value: Value, location: SourceLocation, tag: String? = nil) {
        self.value = value
        self.location = location
        self.tag = tag
    }

    /// The scalar text, or nil for a sequence or mapping.
    public var scalar: String? {
        if case .scalar(let text, _) = value { return text }
        return nil
    }

    /// True for an unquoted `null`, `~` or empty scalar without a tag.
    public var isNull: Bool {
        guard tag == nil, case .scalar(let text, let plain) = value, plain else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// The entries of a mapping, or nil.
    public var pairs: [YAMLPair]? {
        if case .mapping(let pairs) = value { return pairs }
        return nil
    }

    /// The items of a sequence, or nil.
    public var items: [YAMLNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    /// A word for the node's kind, for messages such as "expected a list, found a mapping".
    public var kindDescription: String {
        switch value {
        case .scalar: return isNull ? "null" : "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// The value under a scalar key of a mapping.
    public subscript(key: String) -> YAMLNode? {
        pairs?.first { $0.key.scalar == key }?.value
    }
}

/// One `key: value` entry of a YAML mapping, both sides with their positions.
public struct YAMLPair: Sendable, Hashable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

/// Why a YAML text could not be read at all.
public struct YAMLSyntaxError: Error, Sendable {
    public var message: String
    public var location: SourceLocation
}

/// Bounds on the work one YAML document may cause, so that hostile input (billion laughs, deep
/// nesting) is refused at the event that crosses a bound, in milliseconds.
public struct YAMLLimits: Sendable, Hashable {
    /// Collections inside collections, the outermost one included.
    public var maximumDepth: Int
    /// Whether anchors (`&name`) and aliases (`*name`) may be written at all.
    public var allowsAliases: Bool
    /// Nodes all aliases together may add, each alias counting every node of what it repeats.
    public var maximumAliasNodes: Int
    /// Nodes a document may have when its text is small; a larger text may have one node per
    /// byte, so that a real 100,000-file lock (about 3 million nodes in 80 MB) always fits.
    public var minimumNodeBudget: Int

    public init(maximumDepth: Int = 64, allowsAliases: Bool = true, maximumAliasNodes: Int = 100_000, minimumNodeBudget: Int = 1_000_000) {
        self.maximumDepth = maximumDepth
        self.allowsAliases = allowsAliases
        self.maximumAliasNodes = maximumAliasNodes
        self.minimumNodeBudget = minimumNodeBudget
    }

    /// For specs: anchors and aliases allowed within the bounds.
    public static let standard = YAMLLimits()
    /// For lockfiles, which `LockWriter` writes without anchors or aliases.
    public static let lockfile = YAMLLimits(allowsAliases: false)

    /// The node budget for a text of `byteCount` bytes.
    func nodeBudget(byteCount: Int) -> Int { max(minimumNodeBudget, byteCount) }
}

/// Parses YAML with libyaml's event API into `YAMLNode` trees that keep source positions.
public enum YAMLParser {
    /// Parses the first document of `text`; nil for an empty stream. Aliases are expanded;
    /// anchors are local to the document. A document beyond `limits` is a syntax error at the
    /// event that crossed the bound.
    public static func parse(_ text: String, file: String, limits: YAMLLimits = .standard) throws(YAMLSyntaxError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLSyntaxError(message: "the YAML parser could not be initialised", location: SourceLocation(file: file, line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(YAMLSyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder(file: file, limits: limits, nodeBudget: limits.nodeBudget(byteCount: buffer.count))
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                    let mark = parser.problem_mark
                    var message = problem
                    if let context = parser.context.map({ String(cString: $0) }) {
                        message = "\(problem) \(context)"
                    }
                    throw YAMLSyntaxError(
                        message: message,
                        location: SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
                    )
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT || event.type == YAML_DOCUMENT_END_EVENT && builder.root != nil {
                    return builder.root
                }
                try builder.handle(event)
            }
        }
    }

    private struct Builder {
        enum Frame {
            case sequence(location: SourceLocation, tag: String?, anchor: String?, items: [YAMLNode])
            case mapping(location: SourceLocation, tag: String?, anchor: String?, pairs: [YAMLPair], pendingKey: YAMLNode?)
        }

        /// An anchored node and how many nodes it counts (itself and everything inside it).
        struct Anchored {
            var node: YAMLNode
            var nodeCount: Int
        }

        let file: String
        let limits: YAMLLimits
        let nodeBudget: Int
        var stack: [Frame] = []
        /// For each open frame, `nodeCount` when it started.
        var frameStarts: [Int] = []
        var anchors: [String: Anchored] = [:]
        var root: YAMLNode?
        /// Nodes so far, aliased ones counted with everything they repeat.
        var nodeCount = 0
        /// Nodes added by aliases so far.
        var aliasNodeCount = 0

        init(file: String, limits: YAMLLimits, nodeBudget: Int) {
            self.file = file
            self.limits = limits
            self.nodeBudget = nodeBudget
        }

        mutating func handle(_ event: yaml_event_t) throws(YAMLSyntaxError) {
            let location = SourceLocation(file: file, line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let anchor = try anchorName(scalar.anchor, at: location)
                try count(1, at: location)
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let node = YAMLNode(
                    value: .scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE),
                    location: location,
                    tag: scalar.tag.map { String(cString: $0) }
                )
                if let anchor { anchors[anchor] = Anchored(node: node, nodeCount: 1) }
                try add(node)
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard limits.allowsAliases else { throw Self.aliasesRefused(at: location) }
                guard let anchored = anchors[name] else {
                    throw YAMLSyntaxError(message: "unknown alias '*\(name)'", location: location)
                }
                aliasNodeCount += anchored.nodeCount
                guard aliasNodeCount <= limits.maximumAliasNodes else {
                    throw YAMLSyntaxError(message: "aliases expand to more than \(limits.maximumAliasNodes) nodes (this '*\(name)' repeats \(anchored.nodeCount)); write the values out instead", location: location)
                }
                try count(anchored.nodeCount, at: location)
                var node = anchored.node
                node.location = location
                try add(node)
            case YAML_SEQUENCE_START_EVENT:
                let start = event.data.sequence_start
                try open(at: location)
                stack.append(.sequence(location: location, tag: start.tag.map { String(cString: $0) }, anchor: try anchorName(start.anchor, at: location), items: []))
            case YAML_MAPPING_START_EVENT:
                let start = event.data.mapping_start
                try open(at: location)
                stack.append(.mapping(location: location, tag: start.tag.map { String(cString: $0) }, anchor: try anchorName(start.anchor, at: location), pairs: [], pendingKey: nil))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast(), let firstNode = frameStarts.popLast() else { return }
                let node: YAMLNode
                let anchor: String?
                switch frame {
                case .sequence(let start, let tag, let name, let items):
                    node = YAMLNode(value: .sequence(items), location: start, tag: tag)
                    anchor = name
                case .mapping(let start, let tag, let name, let pairs, _):
                    node = YAMLNode(value: .mapping(pairs), location: start, tag: tag)
                    anchor = name
                }
                if let anchor { anchors[anchor] = Anchored(node: node, nodeCount: nodeCount - firstNode) }
                try add(node)
            default:
                break
            }
        }

        /// Starts a collection: one node more, one level deeper.
        mutating func open(at location: SourceLocation) throws(YAMLSyntaxError) {
            guard stack.count < limits.maximumDepth else {
                throw YAMLSyntaxError(message: "collections are nested deeper than \(limits.maximumDepth) levels here", location: location)
            }
            frameStarts.append(nodeCount)
            try count(1, at: location)
        }

        mutating func count(_ nodes: Int, at location: SourceLocation) throws(YAMLSyntaxError) {
            nodeCount += nodes
            guard nodeCount <= nodeBudget else {
                throw YAMLSyntaxError(message: "the document has more than \(nodeBudget) nodes", location: location)
            }
        }

        /// The anchor's name, or nil; an error where anchors are not allowed.
        func anchorName(_ anchor: UnsafeMutablePointer<yaml_char_t>?, at location: SourceLocation) throws(YAMLSyntaxError) -> String? {
            guard let anchor else { return nil }
            guard limits.allowsAliases else { throw Self.aliasesRefused(at: location) }
            return String(cString: anchor)
        }

        static func aliasesRefused(at location: SourceLocation) -> YAMLSyntaxError {
            YAMLSyntaxError(message: "anchors (&name) and aliases (*name) are not allowed in this file", location: location)
        }

        mutating func add(_ node: YAMLNode) throws(YAMLSyntaxError) {
            guard let top = stack.popLast() else {
                if root == nil { root = node }
                return
            }
            switch top {
            case .sequence(let location, let tag, let anchor, var items):
                items.append(node)
                stack.append(.sequence(location: location, tag: tag, anchor: anchor, items: items))
            case .mapping(let location, let tag, let anchor, var pairs, let pendingKey):
                if let key = pendingKey {
                    pairs.append(YAMLPair(key: key, value: node))
                    stack.append(.mapping(location: location, tag: tag, anchor: anchor, pairs: pairs, pendingKey: nil))
                } else {
                    stack.append(.mapping(location: location, tag: tag, anchor: anchor, pairs: pairs, pendingKey: node))
                }
            }
        }
    }
}
