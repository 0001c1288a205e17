import DatapinSupport
import Foundation

/// The name of an archive kind, as `type:` writes it. The kinds themselves are declared by the
/// archive adapters (each in its folder under Archives/) and listed by `ArchiveRegistry`; the
/// spec model knows only their names.
public struct ArchiveKind: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static func < (left: ArchiveKind, right: ArchiveKind) -> Bool { left.rawValue < right.rawValue }
}

/// What a spec key's value must be; drives the loader's check, the JSON Schema and the README.
public enum SpecKeyType: Sendable, Hashable {
    /// Any string.
    case text
    /// One word of letters, digits, `-` and `_`, compared in lowercase (such as a mission).
    case word
    /// The name of an environment variable, never the secret itself.
    case variableName
    /// A URL with one of `schemes`, or (when `pathAllowed`) a file path.
    case url(schemes: [String], pathAllowed: Bool)
    /// One string, or a list of them; plain numbers count as strings when `numbersAllowed`.
    case list(numbersAllowed: Bool)
    /// A mapping of names to a value or a list of values (such as `where:`).
    case conditions
    /// One of `choices`.
    case choice([String])

    /// How the README and error messages describe the type.
    public var summary: String {
        switch self {
        case .text: return "string"
        case .word: return "word"
        case .variableName: return "variable name"
        case .url(let schemes, let pathAllowed): return ((pathAllowed ? ["path"] : []) + schemes.map { "\($0)://" }).joined(separator: " or ")
        case .list: return "list"
        case .conditions: return "mapping"
        case .choice(let choices): return choices.joined(separator: " | ")
        }
    }
}

/// One key a spec may write, with its type and one line saying what it is for.
public struct SpecKey: Sendable, Hashable {
    public var name: String
    public var type: SpecKeyType
    public var description: String

    public init(_ name: String, _ type: SpecKeyType, _ description: String) {
        self.name = name
        self.type = type
        self.description = description
    }
}

/// A rule about a dataset entry that only one archive kind has, such as "`ids:` needs
/// `mission:`": given the keys the entry writes (with where each key was written), the
/// problems to report, each with its sentence, its severity and its place.
public typealias EntryRule = @Sendable (_ keys: [String: SourceLocation]) -> [(message: String, severity: Diagnostic.Severity, location: SourceLocation)]

/// Everything the spec grammar knows of one archive kind: the keys it takes, which of them say
/// which datasets to take, whether `url:` is needed, its built-in archive and its `init`
/// starter. Declared by the kind's own folder under Archives/.
public struct ArchiveGrammar: Sendable {
    public var kind: ArchiveKind
    /// Settings under `archives.<name>` beside `type:` (url, token_env, …).
    public var archiveKeys: [SpecKey]
    /// Keys of a `datasets:` entry beside `archive:` and `select:`.
    public var datasetKeys: [SpecKey]
    /// The dataset keys of which an entry must write at least one; empty: none is needed.
    public var selectorKeys: [String]
    /// What `url:` names when the kind has no default and the spec must give it ("the
    /// catalog's path or URL"); nil when the kind has a default URL.
    public var requiredURL: String?
    /// The archive that works without an `archives:` entry; nil for none.
    public var builtIn: ArchiveConfig?
    /// The `archives:`/`datasets:` part of the starter `datapin init --archive <kind>` writes.
    public var starter: String
    /// Rules only this kind has.
    public var entryRules: [EntryRule]

    public init(kind: ArchiveKind, archiveKeys: [SpecKey], datasetKeys: [SpecKey], selectorKeys: [String], requiredURL: String? = nil, builtIn: ArchiveConfig? = nil, starter: String, entryRules: [EntryRule] = []) {
        self.kind = kind
        self.archiveKeys = archiveKeys
        self.datasetKeys = datasetKeys
        self.selectorKeys = selectorKeys
        self.requiredURL = requiredURL
        self.builtIn = builtIn
        self.starter = starter
        self.entryRules = entryRules
    }

    /// The archive-level key called `name`, if this kind takes it.
    public func archiveKey(_ name: String) -> SpecKey? { archiveKeys.first { $0.name == name } }
    /// The dataset-entry key called `name`, if this kind takes it.
    public func datasetKey(_ name: String) -> SpecKey? { datasetKeys.first { $0.name == name } }
}

/// The grammar of every archive kind a build knows, in registration order; the loader, the
/// JSON Schema and `init` read the spec's archive parts from it.
public struct SpecGrammar: Sendable {
    public var kinds: [ArchiveGrammar]

    public init(kinds: [ArchiveGrammar]) { self.kinds = kinds }

    /// The grammar of `kind`.
    public func grammar(of kind: ArchiveKind) -> ArchiveGrammar? { kinds.first { $0.kind == kind } }

    /// The archives that work without an `archives:` entry.
    public var builtInArchives: [ArchiveConfig] { kinds.compactMap(\.builtIn) }

    /// Every archive-level key any kind takes, each once (the first declaration), sorted
    /// in first-declared order.
    public var allArchiveKeys: [SpecKey] { Self.union(kinds.map(\.archiveKeys)) }
    /// Every dataset-entry key any kind takes, each once, in first-declared order.
    public var allDatasetKeys: [SpecKey] { Self.union(kinds.map(\.datasetKeys)) }

    /// The kinds that take the archive-level key `name`.
    public func kinds(takingArchiveKey name: String) -> [ArchiveKind] { kinds.filter { $0.archiveKey(name) != nil }.map(\.kind) }
    /// The kinds that take the dataset-entry key `name`.
    public func kinds(takingDatasetKey name: String) -> [ArchiveKind] { kinds.filter { $0.datasetKey(name) != nil }.map(\.kind) }

    private static func union(_ lists: [[SpecKey]]) -> [SpecKey] {
        var seen: Set<String> = []
        return lists.flatMap { $0 }.filter { seen.insert($0.name).inserted }
    }
}
