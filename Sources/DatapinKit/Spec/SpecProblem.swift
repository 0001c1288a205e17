import DatapinSupport

/// Everything that can be wrong with a `datapin.yaml`, one case per class of mistake.
/// `SpecLoader` turns each into a `Diagnostic` at the place it was found.
public enum SpecProblem: Error, Sendable, Hashable {
    /// What to say after an unknown key.
    public enum KeyHint: Sendable, Hashable {
        /// A known key is spelt nearly the same.
        case didYouMean(String)
        /// The key is a `select` filter written outside `select:`.
        case belongsUnderSelect
        /// Nothing is close: list what is valid.
        case validKeys([String])
    }

    /// The spec file could not be read.
    case unreadable(path: String, reason: String)
    /// libyaml could not parse the text.
    case syntax(String)
    /// The file holds no YAML document.
    case empty
    /// The document is a list or a scalar instead of a mapping of keys.
    case notAMapping(found: String)
    /// A key is not one datapin knows in this place.
    case unknownKey(key: String, context: String, hint: KeyHint)
    /// A key appears twice in one mapping.
    case duplicateKey(key: String, context: String)
    /// A mapping key is a list or a mapping.
    case complexKey(context: String)
    /// A required key is absent.
    case missingKey(key: String, context: String, hint: String)
    /// A value has the wrong shape (a mapping where a list of strings belongs, and so on).
    case wrongType(key: String, expected: String, found: String)
    /// A boolean key holds something other than true or false.
    case invalidBoolean(key: String, found: String)
    /// A boolean key holds a quoted string such as `"true"`.
    case quotedBoolean(key: String)
    /// `version` is not a whole number.
    case invalidVersion(String)
    /// `version` is a number datapin does not read.
    case unsupportedVersion(String)
    /// A value is not one of a fixed set of words.
    case invalidChoice(key: String, value: String, valid: [String], suggestion: String?)
    /// A size is not in any form `ByteSize` reads.
    case invalidSize(key: String, value: String)
    /// A required string or list item is empty.
    case emptyValue(key: String)
    /// A list that selects datasets (`ids`, `obsids`, `pids`) is empty.
    case emptySelectorList(key: String)
    /// `layout` is neither nested, flat nor a template.
    case invalidLayout(value: String, suggestion: String?)
    /// A layout template lacks `{filename}`.
    case layoutWithoutFilename(template: String)
    /// A layout template uses a placeholder datapin does not fill.
    case unknownPlaceholder(name: String, suggestion: String?)
    /// A layout template has a `{` without `}` or the other way round.
    case unbalancedBraces(template: String)
    /// A layout template lays out paths `PathSafety` refuses (absolute, climbing out with `..`,
    /// into datapin's working folders), or starts with `~`; `reason` says which.
    case unsafeLayout(template: String, reason: String)
    /// An `include`/`exclude` expression does not compile.
    case invalidPattern(PatternError)
    /// An archive name has characters that cannot appear in a path or a lockfile.
    case invalidArchiveName(String)
    /// An archive that is not built in has no `type:`; `kinds` are the kinds there are,
    /// `builtIn` the archives that need none.
    case missingArchiveType(name: String, kinds: [ArchiveKind], builtIn: [String])
    /// An archive of this kind has no default URL and none was given; `what` says what the URL names.
    case missingArchiveURL(name: String, kind: ArchiveKind, what: String)
    /// A URL uses a scheme this setting cannot use.
    case invalidURL(key: String, archive: String, schemes: [String], allowsPath: Bool)
    /// A `*_env` setting holds something that is not an environment variable's name.
    case credentialNotVariableName(key: String)
    /// `username_env` without `password_env`, or the reverse.
    case incompleteCredentials(given: String, missing: String, archive: String)
    /// A dataset entry names an archive that is neither built in nor configured.
    case unknownArchive(name: String, suggestion: String?, known: [String])
    /// A key that this kind of archive does not use; `takes` are the keys it does take there,
    /// `acceptedBy` the kinds that take this one.
    case keyNotForArchiveKind(key: String, archive: String, kind: ArchiveKind, takes: [String], acceptedBy: [ArchiveKind])
    /// A dataset entry says nothing about which datasets to take.
    case nothingToTake(archive: String, kind: ArchiveKind, keys: [String])
    /// `mission` is not a single lowercase word.
    case invalidMission(String)
    /// `where:` holds no condition.
    case emptyWhere
    /// Warning: the spec lists no dataset, so the lock will be empty.
    case noDatasets
    /// Warning: a filter list is empty, so no file can pass it.
    case emptyFilterList(key: String)

    /// Whether the problem stops the command or is only worth saying.
    public var severity: Diagnostic.Severity {
        switch self {
        case .noDatasets, .emptyFilterList: return .warning
        default: return .error
        }
    }

    /// One plain sentence: what is wrong and what would be right.
    public var message: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read the spec \(path): \(reason)"
        case .syntax(let reason):
            return "this is not valid YAML: \(reason)"
        case .empty:
            return "the spec is empty; write at least `version: 1` and a `datasets:` list (`datapin init` writes a starter)"
        case .notAMapping(let found):
            return "the spec must be a mapping of keys (version, datasets, …), found \(found)"
        case .unknownKey(let key, let context, let hint):
            let head = "unknown key '\(key)' \(context)"
            switch hint {
            case .didYouMean(let suggestion): return "\(head); did you mean '\(suggestion)'?"
            case .belongsUnderSelect: return "\(head); '\(key)' is a filter: put it under 'select:'"
            case .validKeys(let keys): return "\(head); valid keys are \(Self.list(keys))"
            }
        case .duplicateKey(let key, let context):
            return "duplicate key '\(key)' \(context); each key may appear only once"
        case .complexKey(let context):
            return "a key \(context) is a list or a mapping; keys must be plain words"
        case .missingKey(let key, let context, let hint):
            return "missing key '\(key)' \(context); \(hint)"
        case .wrongType(let key, let expected, let found):
            return "expected \(expected) for '\(key)', found \(found)"
        case .invalidBoolean(let key, let found):
            return "expected true or false for '\(key)', found '\(found)'"
        case .quotedBoolean(let key):
            return "expected true or false for '\(key)', found a quoted string; remove the quotes"
        case .invalidVersion(let found):
            return "expected the number 1 for 'version', found '\(found)'"
        case .unsupportedVersion(let found):
            return "unsupported spec version \(found); this datapin reads version 1"
        case .invalidChoice(let key, let value, let valid, let suggestion):
            let tail = suggestion.map { "; did you mean '\($0)'?" } ?? ""
            return "invalid value '\(value)' for '\(key)'; valid values are \(Self.list(valid))\(tail)"
        case .invalidSize(let key, let value):
            return "invalid size '\(value)' for '\(key)'; write a number of bytes (1048576) or a number with a unit (500 MB, 1.5 GB, 2 GiB)"
        case .emptyValue(let key):
            return "empty value in '\(key)'; write a value or remove it"
        case .emptySelectorList(let key):
            return "'\(key)' is an empty list; list at least one, or remove the key"
        case .invalidLayout(let value, let suggestion):
            let tail = suggestion.map { "; did you mean '\($0)'?" } ?? ""
            return "invalid layout '\(value)'; write nested, flat, or a template containing {filename}\(tail)"
        case .layoutWithoutFilename(let template):
            return "the layout template '\(template)' has no {filename}; every file needs its name in its path"
        case .unknownPlaceholder(let name, let suggestion):
            let tail = suggestion.map { "; did you mean '{\($0)}'?" } ?? "; valid placeholders are \(Self.list(Layout.placeholders.map { "{\($0)}" }))"
            return "unknown placeholder '{\(name)}' in layout\(tail)"
        case .unbalancedBraces(let template):
            return "the layout template '\(template)' has an unmatched brace; placeholders look like {dataset}"
        case .unsafeLayout(let template, let reason):
            return "the layout template '\(PathSafety.escaped(template))' does not lay out a safe path inside destination: \(reason); write a relative path such as '{dataset}/{filename}'"
        case .invalidPattern(let error):
            return error.message
        case .invalidArchiveName(let name):
            return "invalid archive name '\(name)'; use letters, digits, '-', '_' and '.' only"
        case .missingArchiveType(let name, let kinds, let builtIn):
            return "archive '\(name)' needs 'type:' (\(Self.list(kinds.map(\.rawValue), conjunction: "or"))); only \(Self.list(builtIn, conjunction: "and")) are built in"
        case .missingArchiveURL(let name, let kind, let what):
            return "archive '\(name)' (type \(kind.rawValue)) needs 'url:', \(what)"
        case .invalidURL(let key, let archive, let schemes, let allowsPath):
            let urls = Self.list(schemes.map { "\($0)://" }, conjunction: "or")
            return "'\(key)' of archive '\(archive)' must be \(allowsPath ? "a file path or " : "")a \(urls) URL"
        case .credentialNotVariableName(let key):
            return "\(key) names an environment variable, not the token itself; write the variable's name (such as MY_TOKEN) and put the secret in that variable"
        case .incompleteCredentials(let given, let missing, let archive):
            return "archive '\(archive)' has '\(given)' but no '\(missing)'; give both, or use token_env"
        case .unknownArchive(let name, let suggestion, let known):
            let tail = suggestion.map { "; did you mean '\($0)'?" } ?? "; known archives are \(Self.list(known))"
            return "unknown archive '\(name)'\(tail)"
        case .keyNotForArchiveKind(let key, let archive, let kind, let takes, let acceptedBy):
            let kinds = Self.list(acceptedBy.map(\.rawValue), conjunction: "and")
            return "'\(key)' does not apply to archive '\(archive)' (type \(kind.rawValue)), which takes \(Self.list(takes, conjunction: "and")); only \(kinds) archives accept it"
        case .nothingToTake(let archive, let kind, let keys):
            return "this entry does not say which datasets to take from '\(archive)'; a \(kind.rawValue) entry needs \(Self.list(keys, conjunction: "or"))"
        case .invalidMission(let value):
            return "invalid mission '\(value)'; write one word such as jwst, hst or roman"
        case .emptyWhere:
            return "'where' has no condition; write at least one, such as {program: \"02734\"}"
        case .noDatasets:
            return "the spec lists no datasets, so the lock will be empty; add entries under 'datasets:'"
        case .emptyFilterList(let key):
            return "'\(key)' is an empty list, so no file can pass it; remove the key to filter nothing"
        }
    }

    /// `a, b, c` or `a, b or c` for a message.
    private static func list(_ words: [String], conjunction: String? = nil) -> String {
        guard let conjunction, words.count > 1 else { return words.joined(separator: ", ") }
        return words.dropLast().joined(separator: ", ") + " \(conjunction) " + words[words.count - 1]
    }
}
