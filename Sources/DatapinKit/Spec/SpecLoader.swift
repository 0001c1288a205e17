import DatapinSupport
import Foundation

/// A spec read and validated, with its text (secrets masked) for quoting lines in later
/// diagnostics, and the warnings loading found.
public struct LoadedSpec: Sendable {
    public var spec: Spec
    public var source: SourceText
    public var warnings: [Diagnostic]

    public init(spec: Spec, source: SourceText, warnings: [Diagnostic]) {
        self.spec = spec
        self.source = source
        self.warnings = warnings
    }
}

/// Reads `datapin.yaml` into a `Spec` and checks everything that can be checked without asking
/// an archive. Every error in the file is reported in one pass, each at its line and column.
public enum SpecLoader {
    /// Parses and validates a spec. Throws DiagnosticList with EVERY error found (not just the first);
    /// warnings (if any) are returned in the result.
    /// `grammar` is the archive kinds' part of the spec (`ArchiveRegistry.grammar`).
    public static func load(text: String, file: String, grammar: SpecGrammar) throws(DiagnosticList) -> LoadedSpec {
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(text, file: file)
        } catch {
            let source = SourceText(path: file, text: Secrets.maskedWithoutParsing(text))
            throw DiagnosticList([source.diagnostic(.error, SpecProblem.syntax(error.message).message, at: error.location)])
        }
        guard let root, !root.isNull else {
            throw DiagnosticList([Diagnostic(.error, SpecProblem.empty.message, at: SourceLocation(file: file, line: 1, column: 1))])
        }
        let source = SourceText(path: file, text: Secrets.masked(text, hiding: Secrets.locations(in: root)))
        var reader = SpecReader(file: file, source: source, grammar: grammar)
        let spec = reader.read(root)
        let diagnostics = reader.diagnostics.enumerated().sorted { a, b in
            let left = a.element.location, right = b.element.location
            return (left?.line ?? 0, left?.column ?? 0, a.offset) < (right?.line ?? 0, right?.column ?? 0, b.offset)
        }.map(\.element)
        if diagnostics.contains(where: { $0.severity == .error }) {
            throw DiagnosticList(diagnostics)
        }
        return LoadedSpec(spec: spec, source: source, warnings: diagnostics)
    }

    /// Reads the file at `path` and loads it (`file` names it in diagnostics); a file that
    /// cannot be read is a diagnostic too, a binary or non-UTF-8 one at its first bad byte.
    public static func load(contentsOf path: String, file: String? = nil, grammar: SpecGrammar) throws(DiagnosticList) -> LoadedSpec {
        let file = file ?? path
        var isDirectory: ObjCBool = false
        let reason: String
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            reason = "the file does not exist (`datapin init` writes a starter)"
        } else if isDirectory.boolValue {
            reason = "it is a directory"
        } else if let data = FileManager.default.contents(atPath: path) {
            return try load(text: TextFile.decode(data, file: file), file: file, grammar: grammar)
        } else {
            reason = "permission denied"
        }
        throw DiagnosticList([Diagnostic(.error, SpecProblem.unreadable(path: file, reason: reason).message)])
    }
}

/// Keys that may hold credentials, and the masking of their values in quoted lines.
enum Secrets {
    /// Settings whose value must be an environment variable's name.
    static let variableNameKeys: Set<String> = ["token_env", "username_env", "password_env"]
    /// Words that make any other key's value a secret to keep out of output.
    static let secretWords = ["token", "password", "passwd", "secret", "apikey", "api_key", "credential"]

    /// True when `value` looks like a credential rather than an environment variable's name: it
    /// is not an identifier, or one of its `_`-separated parts is a long run of letters and digits.
    static func looksLikeSecret(_ value: String) -> Bool {
        guard let first = value.unicodeScalars.first, first.isASCII, first == "_" || first.properties.isAlphabetic,
              value.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        else { return true }
        return value.split(separator: "_").contains { part in
            part.count >= 16 && part.contains(where: \.isNumber) && part.contains(where: \.isLetter)
        }
    }

    /// Where the spec holds values that must never be echoed.
    static func locations(in node: YAMLNode) -> [SourceLocation] {
        switch node.value {
        case .scalar:
            return []
        case .sequence(let items):
            return items.flatMap(locations(in:))
        case .mapping(let pairs):
            return pairs.flatMap { pair -> [SourceLocation] in
                let inner = locations(in: pair.value)
                guard let key = pair.key.scalar?.lowercased(), let value = pair.value.scalar, !pair.value.isNull else { return inner }
                let secret = variableNameKeys.contains(key) ? looksLikeSecret(value) : secretWords.contains { key.contains($0) } || URLUserinfo.hasUserinfo(value)
                return secret ? [pair.value.location] + inner : inner
            }
        }
    }

    /// `text` with the value after every key that names a secret masked, found line by line,
    /// for quoting a spec that could not be parsed and so has no tree to find the values in.
    static func maskedWithoutParsing(_ text: String) -> String {
        var locations: [SourceLocation] = []
        for (index, line) in SourceText.lines(of: text).enumerated() {
            let characters = Array(line)
            if let column = userinfoColumn(in: characters) {
                locations.append(SourceLocation(file: "", line: index + 1, column: column))
            }
            for colon in characters.indices where characters[colon] == ":" {
                let spaced = colon + 1 < characters.count && characters[colon + 1] == " "
                guard spaced || colon + 1 == characters.count else { continue }
                var keyStart = colon
                while keyStart > 0, !" {,\"'?".contains(characters[keyStart - 1]) { keyStart -= 1 }
                let key = String(characters[keyStart..<colon]).lowercased()
                if secretWords.contains(where: { key.contains($0) }) {
                    locations.append(SourceLocation(file: "", line: index + 1, column: colon + (spaced ? 3 : 2)))
                    break
                }
            }
        }
        return masked(text, hiding: locations)
    }

    /// The 1-based column where a word of `line` that is a URL with credentials (`user:secret@`) starts.
    private static func userinfoColumn(in line: [Character]) -> Int? {
        let delimiters: Set<Character> = [" ", "\t", "\"", "'", "{", "}", "[", "]", ","]
        var start = 0
        while start < line.count {
            guard !delimiters.contains(line[start]) else {
                start += 1
                continue
            }
            var end = start
            while end < line.count, !delimiters.contains(line[end]) { end += 1 }
            if URLUserinfo.hasUserinfo(String(line[start..<end])) { return start + 1 }
            start = end
        }
        return nil
    }

    /// `text` with everything from each location to the end of its line replaced by `***`, for
    /// quoting lines (the lines are joined with LF, whatever ended them).
    static func masked(_ text: String, hiding locations: [SourceLocation]) -> String {
        guard !locations.isEmpty else { return text }
        var firstColumn: [Int: Int] = [:]
        for location in locations {
            firstColumn[location.line] = min(firstColumn[location.line] ?? .max, location.column)
        }
        var lines = SourceText.lines(of: text).map(String.init)
        for (line, column) in firstColumn where line >= 1 && line <= lines.count {
            lines[line - 1] = String(lines[line - 1].prefix(column - 1)) + "***"
        }
        return lines.joined(separator: "\n")
    }
}

/// One pass over a parsed spec that builds the model and collects every problem on the way.
private struct SpecReader {
    static let topKeys = SpecSchema.topKeys
    static let selectKeys = SpecSchema.selectKeys

    let file: String
    let source: SourceText
    let grammar: SpecGrammar
    var diagnostics: [Diagnostic] = []

    init(file: String, source: SourceText, grammar: SpecGrammar) {
        self.file = file
        self.source = source
        self.grammar = grammar
    }

    /// `type` and every setting any archive kind takes.
    var archiveKeys: [String] { ["type"] + grammar.allArchiveKeys.map(\.name) }
    /// `archive`, every dataset-entry key any kind takes, and `select`.
    var datasetKeys: [String] { ["archive"] + grammar.allDatasetKeys.map(\.name) + ["select"] }

    mutating func report(_ problem: SpecProblem, at location: SourceLocation) {
        diagnostics.append(source.diagnostic(problem.severity, problem.message, at: location))
    }

    // MARK: Top level

    mutating func read(_ root: YAMLNode) -> Spec {
        var spec = Spec(file: file)
        guard root.pairs != nil else {
            report(.notAMapping(found: root.kindDescription), at: root.location)
            return spec
        }
        let top = fields(of: root, known: Self.topKeys, context: "at the top level", filtersBelongUnderSelect: true)
        if let pair = top["version"] {
            if let version = version(pair.value) { spec.version = version }
        } else {
            report(.missingKey(key: "version", context: "at the top level", hint: "add `version: 1` as the first line"), at: root.location)
        }
        if let pair = top["destination"], let destination = string("destination", pair.value) {
            spec.destination = destination
        }
        if let pair = top["layout"], let layout = layout(pair.value) {
            spec.layout = layout
            spec.layoutLocation = pair.value.location
        }
        if let pair = top["duplicates"], let text = string("duplicates", pair.value),
           let policy = choice("duplicates", text, at: pair.value.location, as: DuplicatePolicy.self) {
            spec.duplicates = policy
        }
        if let pair = top["manifest"], let manifest = bool("manifest", pair.value) {
            spec.manifest = manifest
        }
        if let pair = top["case_sensitive"], let caseSensitive = bool("case_sensitive", pair.value) {
            spec.caseSensitive = caseSensitive
        }
        let (archives, unresolved) = archives(top["archives"]?.value)
        spec.archives = archives
        if let pair = top["select"] {
            spec.select = selectFilters(pair.value) ?? SelectFilters()
        }
        if let pair = top["datasets"] {
            spec.datasets = datasets(pair, archives: archives, unresolved: unresolved)
        } else {
            report(.noDatasets, at: root.location)
        }
        return spec
    }

    mutating func version(_ node: YAMLNode) -> Int? {
        guard let text = string("version", node) else { return nil }
        guard case .scalar(_, plain: true) = node.value, let number = Int(text) else {
            report(.invalidVersion(text), at: node.location)
            return nil
        }
        guard number == 1 else {
            report(.unsupportedVersion(text), at: node.location)
            return nil
        }
        return number
    }

    mutating func layout(_ node: YAMLNode) -> Layout? {
        guard let text = string("layout", node) else { return nil }
        switch text.lowercased() {
        case "nested": return .nested
        case "flat": return .flat
        default: break
        }
        guard text.contains("{") || text.contains("}") else {
            report(.invalidLayout(value: text, suggestion: Suggestion.nearest(to: text, in: ["nested", "flat"])), at: node.location)
            return nil
        }
        var placeholders: [(name: String, offset: Int)] = []
        var open: Int?
        var name = ""
        var balanced = true
        // The template laid out with a plain name for every placeholder and runs of '/' collapsed,
        // as LayoutEngine lays it out, for PathSafety to judge what the template itself writes.
        var sample = ""
        for (offset, character) in text.enumerated() {
            if character == "{" {
                guard open == nil else { balanced = false; break }
                open = offset
                name = ""
            } else if character == "}" {
                guard let start = open else { balanced = false; break }
                placeholders.append((name, start))
                open = nil
                sample.append("_")
            } else if open != nil {
                name.append(character)
            } else if !(character == "/" && sample.last == "/") {
                sample.append(character)
            }
        }
        guard balanced && open == nil else {
            report(.unbalancedBraces(template: text), at: node.location)
            return nil
        }
        var valid = true
        let quoteWidth = node.value == .scalar(text, plain: true) ? 0 : 1
        for placeholder in placeholders where !Layout.placeholders.contains(placeholder.name) {
            var location = node.location
            location.column += quoteWidth + placeholder.offset
            report(.unknownPlaceholder(name: placeholder.name, suggestion: Suggestion.nearest(to: placeholder.name, in: Layout.placeholders)), at: location)
            valid = false
        }
        if !placeholders.contains(where: { $0.name == "filename" }) {
            report(.layoutWithoutFilename(template: text), at: node.location)
            valid = false
        }
        if let reason = text.hasPrefix("~") ? "it starts with '~', which datapin does not expand to a home folder" : PathSafety.problem(with: sample) {
            report(.unsafeLayout(template: text, reason: reason), at: node.location)
            valid = false
        }
        return valid ? .template(text) : nil
    }

    // MARK: Archives

    /// The built-in archives (with any overrides) followed by the configured ones in file order,
    /// and the names of configured archives whose kind could not be determined.
    mutating func archives(_ node: YAMLNode?) -> ([ArchiveConfig], unresolved: Set<String>) {
        var builtIns = grammar.builtInArchives
        var configured: [ArchiveConfig] = []
        var unresolved: Set<String> = []
        guard let node, !node.isNull else { return (builtIns, unresolved) }
        guard let pairs = node.pairs else {
            report(.wrongType(key: "archives", expected: "a mapping of archive names to their settings", found: node.kindDescription), at: node.location)
            return (builtIns, unresolved)
        }
        for (name, pair) in namedPairs(pairs, context: "in archives") {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }),
                  name != ".", name != ".."
            else {
                report(.invalidArchiveName(name), at: pair.key.location)
                continue
            }
            if let config = archive(named: name, pair: pair, builtIns: builtIns) {
                if let index = builtIns.firstIndex(where: { $0.name == name }) {
                    builtIns[index] = config
                } else {
                    configured.append(config)
                }
            } else if !builtIns.contains(where: { $0.name == name }) {
                unresolved.insert(name)
            }
        }
        return (builtIns + configured, unresolved)
    }

    mutating func archive(named name: String, pair: YAMLPair, builtIns: [ArchiveConfig]) -> ArchiveConfig? {
        let builtIn = builtIns.first { $0.name == name }
        var settings: [String: YAMLPair] = [:]
        if pair.value.pairs != nil {
            settings = fields(of: pair.value, known: archiveKeys, context: "in archive '\(name)'")
        } else if !pair.value.isNull {
            report(.wrongType(key: name, expected: "a mapping of settings (type, url, token_env, …)", found: pair.value.kindDescription), at: pair.value.location)
            return nil
        }
        var kind = builtIn?.kind
        if let typePair = settings["type"] {
            guard let text = string("type", typePair.value),
                  let given = choice("type", text, at: typePair.value.location, among: grammar.kinds.map(\.kind.rawValue))
            else { return nil }
            kind = ArchiveKind(given)
        }
        guard let kind, let kindGrammar = grammar.grammar(of: kind) else {
            report(.missingArchiveType(name: name, kinds: grammar.kinds.map(\.kind), builtIn: grammar.builtInArchives.map(\.name)), at: pair.key.location)
            return nil
        }
        var config = ArchiveConfig(name: name, kind: kind)
        if let builtIn, builtIn.kind == kind { config = builtIn }
        config.location = pair.key.location
        for (key, misplaced) in settings.sorted(by: { $0.key < $1.key }) where key != "type" && kindGrammar.archiveKey(key) == nil {
            settings.removeValue(forKey: key)
            report(.keyNotForArchiveKind(key: key, archive: name, kind: kind, takes: ["type"] + kindGrammar.archiveKeys.map(\.name), acceptedBy: grammar.kinds(takingArchiveKey: key)), at: misplaced.key.location)
        }
        if settings["url"] == nil, let what = kindGrammar.requiredURL, config.url == nil {
            report(.missingArchiveURL(name: name, kind: kind, what: what), at: pair.key.location)
        }
        for key in kindGrammar.archiveKeys {
            guard let setting = settings[key.name] else { continue }
            switch key.type {
            case .url(let schemes, let pathAllowed):
                guard let url = string(key.name, setting.value), withoutCredentials(key.name, url, archive: name, at: setting.value.location) else { continue }
                guard hasScheme(url, in: schemes, pathAllowed: pathAllowed) else {
                    report(.invalidURL(key: key.name, archive: name, schemes: schemes, allowsPath: pathAllowed), at: setting.value.location)
                    continue
                }
                config.set(key.name, to: url)
            case .variableName:
                if let value = variableName(key.name, settings) { config.set(key.name, to: value) }
            default:
                if let value = string(key.name, setting.value) { config.set(key.name, to: value) }
            }
        }
        for (given, missing) in [("username_env", "password_env"), ("password_env", "username_env")] {
            if let present = settings[given], settings[missing] == nil {
                report(.incompleteCredentials(given: given, missing: missing, archive: name), at: present.key.location)
            }
        }
        return config
    }

    /// False, with an error, when `url` carries a user name or password: it would be copied into
    /// the lock and every listing. The message never repeats it.
    mutating func withoutCredentials(_ key: String, _ url: String, archive: String, at location: SourceLocation) -> Bool {
        guard URLUserinfo.hasUserinfo(url) else { return true }
        diagnostics.append(source.diagnostic(.error, "'\(key)' of archive '\(archive)' has credentials in it (\(URLUserinfo.redacted(url))); \(URLUserinfo.advice)", at: location))
        return false
    }

    func hasScheme(_ url: String, in schemes: [String], pathAllowed: Bool) -> Bool {
        guard let separator = url.range(of: "://") else { return pathAllowed }
        return schemes.contains(url[..<separator.lowerBound].lowercased())
    }

    mutating func variableName(_ key: String, _ settings: [String: YAMLPair]) -> String? {
        guard let pair = settings[key], let value = string(key, pair.value) else { return nil }
        guard !Secrets.looksLikeSecret(value) else {
            report(.credentialNotVariableName(key: key), at: pair.value.location)
            return nil
        }
        return value
    }

    // MARK: Datasets

    mutating func datasets(_ pair: YAMLPair, archives: [ArchiveConfig], unresolved: Set<String>) -> [DatasetEntry] {
        guard !pair.value.isNull else {
            report(.noDatasets, at: pair.key.location)
            return []
        }
        guard let items = pair.value.items else {
            report(.wrongType(key: "datasets", expected: "a list of dataset entries", found: pair.value.kindDescription), at: pair.value.location)
            return []
        }
        if items.isEmpty { report(.noDatasets, at: pair.value.location) }
        var entries: [DatasetEntry] = []
        for (index, item) in items.enumerated() {
            if let entry = datasetEntry(item, index: index, archives: archives, unresolved: unresolved) {
                entries.append(entry)
            }
        }
        return entries
    }

    mutating func datasetEntry(_ node: YAMLNode, index: Int, archives: [ArchiveConfig], unresolved: Set<String>) -> DatasetEntry? {
        guard node.pairs != nil else {
            report(.wrongType(key: "datasets", expected: "a mapping (archive, ids, …) for each entry", found: node.kindDescription), at: node.location)
            return nil
        }
        let context = "in dataset entry \(index + 1)"
        var fields = fields(of: node, known: datasetKeys, context: context, filtersBelongUnderSelect: true)
        var entry = DatasetEntry(index: index, archive: "", location: node.location)
        var kindGrammar: ArchiveGrammar?
        var archiveNamed = false
        let knownNames = archives.map(\.name) + unresolved.sorted()
        if let pair = fields["archive"] {
            entry.archiveLocation = pair.value.location
            if let name = string("archive", pair.value) {
                entry.archive = name
                if let config = archives.first(where: { $0.name == name }) {
                    kindGrammar = grammar.grammar(of: config.kind)
                    archiveNamed = true
                } else if unresolved.contains(name) {
                    archiveNamed = true
                } else {
                    report(.unknownArchive(name: name, suggestion: Suggestion.nearest(to: name, in: knownNames), known: knownNames), at: pair.value.location)
                }
            }
        } else {
            report(.missingKey(key: "archive", context: context, hint: "name the archive to ask (\(knownNames.joined(separator: ", ")))"), at: node.location)
        }
        if let kindGrammar {
            for (key, misplaced) in fields.sorted(by: { $0.key < $1.key }) where !["archive", "select"].contains(key) && kindGrammar.datasetKey(key) == nil {
                fields.removeValue(forKey: key)
                report(.keyNotForArchiveKind(key: key, archive: entry.archive, kind: kindGrammar.kind, takes: ["archive"] + kindGrammar.datasetKeys.map(\.name) + ["select"], acceptedBy: grammar.kinds(takingDatasetKey: key)), at: misplaced.key.location)
            }
        }
        if let pair = fields["mission"], let mission = string("mission", pair.value) {
            if mission.range(of: "^[A-Za-z0-9][A-Za-z0-9_-]*$", options: .regularExpression) != nil {
                entry.mission = mission.lowercased()
            } else {
                report(.invalidMission(mission), at: pair.value.location)
            }
        }
        entry.ids = selectorList("ids", fields)
        entry.obsids = selectorList("obsids", fields)
        entry.pids = selectorList("pids", fields)
        if let pair = fields["where"] { entry.whereConditions = whereConditions(pair.value) }
        if let pair = fields["adql"], let adql = string("adql", pair.value) { entry.adql = adql }
        if let pair = fields["calibrations"], let text = string("calibrations", pair.value) {
            entry.calibrations = choice("calibrations", text, at: pair.value.location, as: CalibrationMode.self)
        }
        if let pair = fields["select"] { entry.select = selectFilters(pair.value) }
        if let kindGrammar {
            let selectors = kindGrammar.selectorKeys
            if !selectors.isEmpty, !selectors.contains(where: { fields[$0] != nil }) {
                report(.nothingToTake(archive: entry.archive, kind: kindGrammar.kind, keys: selectors), at: node.location)
            }
            let written = fields.mapValues(\.key.location)
            for rule in kindGrammar.entryRules {
                for problem in rule(written) {
                    diagnostics.append(source.diagnostic(problem.severity, problem.message, at: problem.location))
                }
            }
        }
        return archiveNamed ? entry : nil
    }

    /// `ids`, `obsids` or `pids`: strings as written (plain numbers keep their text), trimmed.
    mutating func selectorList(_ key: String, _ fields: [String: YAMLPair]) -> [String] {
        guard let pair = fields[key], let items = stringList(key, pair.value) else { return [] }
        if pair.value.items?.isEmpty == true {
            report(.emptySelectorList(key: key), at: pair.value.location)
        }
        return items.map { $0.text.trimmingCharacters(in: .whitespaces) }
    }

    mutating func whereConditions(_ node: YAMLNode) -> [WhereCondition] {
        if node.isNull || node.pairs?.isEmpty == true {
            report(.emptyWhere, at: node.location)
            return []
        }
        guard let pairs = node.pairs else {
            report(.wrongType(key: "where", expected: "a mapping of conditions such as {program: \"02734\"}", found: node.kindDescription), at: node.location)
            return []
        }
        var conditions: [WhereCondition] = []
        for (name, pair) in namedPairs(pairs, context: "in where") {
            if let values = stringList(name, pair.value) {
                if values.isEmpty { report(.emptySelectorList(key: name), at: pair.value.location) }
                let kinds = values.map { value -> WhereValueKind in
                    guard value.node.tag == nil, case .scalar(_, let plain) = value.node.value else { return .text }
                    return WhereValueKind.of(value.text, plain: plain)
                }
                conditions.append(WhereCondition(name: name, values: values.map(\.text), kinds: kinds))
            }
        }
        return conditions
    }

    // MARK: Select

    mutating func selectFilters(_ node: YAMLNode) -> SelectFilters? {
        if node.isNull { return nil }
        guard node.pairs != nil else {
            report(.wrongType(key: "select", expected: "a mapping of filters (levels, suffixes, …)", found: node.kindDescription), at: node.location)
            return nil
        }
        let fields = fields(of: node, known: Self.selectKeys, context: "in select")
        var filters = SelectFilters()
        filters.levels = filterList("levels", fields) { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        filters.suffixes = filterList("suffixes", fields) { text in
            let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
            return lowered.hasPrefix("_") ? lowered : "_" + lowered
        }
        filters.extensions = filterList("extensions", fields) { text in
            let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
            return lowered.hasPrefix(".") ? lowered : "." + lowered
        }
        filters.match = filterList("match", fields) { $0 }
        filters.types = choiceList("types", fields, as: ProductType.self)
        filters.access = choiceList("access", fields, as: Access.self)
        filters.include = patterns("include", fields)
        filters.exclude = patterns("exclude", fields)
        if let pair = fields["recommended"] { filters.recommended = bool("recommended", pair.value) }
        if let pair = fields["guidestar"] { filters.guidestar = bool("guidestar", pair.value) }
        if let pair = fields["calibration_references"] { filters.calibrationReferences = bool("calibration_references", pair.value) }
        if let pair = fields["max_size"] { filters.maxSize = size("max_size", pair.value) }
        return filters
    }

    /// A list filter, normalised item by item, without repeats; warns when it is empty.
    mutating func filterList(_ key: String, _ fields: [String: YAMLPair], normalise: (String) -> String) -> [String]? {
        guard let pair = fields[key], let items = stringList(key, pair.value) else { return nil }
        if pair.value.items?.isEmpty == true {
            report(.emptyFilterList(key: key), at: pair.key.location)
        }
        var seen: Set<String> = []
        return items.map { normalise($0.text) }.filter { seen.insert($0).inserted }
    }

    mutating func choiceList<T: RawRepresentable & CaseIterable & Hashable>(_ key: String, _ fields: [String: YAMLPair], as type: T.Type) -> [T]? where T.RawValue == String {
        guard let pair = fields[key], let items = stringList(key, pair.value) else { return nil }
        if pair.value.items?.isEmpty == true {
            report(.emptyFilterList(key: key), at: pair.key.location)
        }
        var seen: Set<T> = []
        return items.compactMap { choice(key, $0.text, at: $0.node.location, as: type) }.filter { seen.insert($0).inserted }
    }

    mutating func patterns(_ key: String, _ fields: [String: YAMLPair]) -> [FilePattern]? {
        guard let pair = fields[key], let items = stringList(key, pair.value) else { return nil }
        if pair.value.items?.isEmpty == true {
            report(.emptyFilterList(key: key), at: pair.key.location)
        }
        return items.map { item in
            let pattern = FilePattern(item.text, location: item.node.location)
            do throws(PatternError) {
                _ = try CompiledPattern(pattern)
            } catch {
                report(.invalidPattern(error), at: item.node.location)
            }
            return pattern
        }
    }

    mutating func size(_ key: String, _ node: YAMLNode) -> Int64? {
        guard let text = string(key, node) else { return nil }
        guard let bytes = ByteSize.parse(text) else {
            report(.invalidSize(key: key, value: text), at: node.location)
            return nil
        }
        return bytes
    }

    // MARK: Values

    /// The pairs of a mapping whose keys are names the user chooses (archives, `where`
    /// conditions), in file order; reports non-scalar and duplicate keys at the key.
    mutating func namedPairs(_ pairs: [YAMLPair], context: String) -> [(name: String, pair: YAMLPair)] {
        var named: [(name: String, pair: YAMLPair)] = []
        var seen: Set<String> = []
        for pair in pairs {
            guard let name = pair.key.scalar else {
                report(.complexKey(context: context), at: pair.key.location)
                continue
            }
            guard seen.insert(name).inserted else {
                report(.duplicateKey(key: name, context: context), at: pair.key.location)
                continue
            }
            named.append((name, pair))
        }
        return named
    }

    /// The pairs of a mapping by key; reports unknown, duplicate and non-scalar keys at the key.
    mutating func fields(of node: YAMLNode, known: [String], context: String, filtersBelongUnderSelect: Bool = false) -> [String: YAMLPair] {
        var fields: [String: YAMLPair] = [:]
        for pair in node.pairs ?? [] {
            guard let key = pair.key.scalar else {
                report(.complexKey(context: context), at: pair.key.location)
                continue
            }
            guard known.contains(key) else {
                let hint: SpecProblem.KeyHint
                if filtersBelongUnderSelect && Self.selectKeys.contains(key) {
                    hint = .belongsUnderSelect
                } else if let suggestion = Suggestion.nearest(to: key, in: known) {
                    hint = .didYouMean(suggestion)
                } else {
                    hint = .validKeys(known)
                }
                report(.unknownKey(key: key, context: context, hint: hint), at: pair.key.location)
                continue
            }
            guard fields[key] == nil else {
                report(.duplicateKey(key: key, context: context), at: pair.key.location)
                continue
            }
            fields[key] = pair
        }
        return fields
    }

    /// A non-empty scalar's text; reports a list, a mapping, null or an empty string.
    mutating func string(_ key: String, _ node: YAMLNode) -> String? {
        guard let text = node.scalar else {
            report(.wrongType(key: key, expected: "a string", found: node.kindDescription), at: node.location)
            return nil
        }
        guard !node.isNull, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            report(.emptyValue(key: key), at: node.location)
            return nil
        }
        return text
    }

    /// A list of non-empty scalars; a single scalar counts as a one-item list.
    mutating func stringList(_ key: String, _ node: YAMLNode) -> [(text: String, node: YAMLNode)]? {
        switch node.value {
        case .scalar:
            return string(key, node).map { [($0, node)] }
        case .mapping:
            report(.wrongType(key: key, expected: "a list of strings", found: "a mapping"), at: node.location)
            return nil
        case .sequence(let items):
            var values: [(text: String, node: YAMLNode)] = []
            for item in items {
                if item.scalar == nil {
                    report(.wrongType(key: key, expected: "a list of strings", found: "\(item.kindDescription) inside the list"), at: item.location)
                } else if let text = string(key, item) {
                    values.append((text, item))
                }
            }
            return values
        }
    }

    /// A YAML 1.1 boolean written plainly: true/false, yes/no, on/off, in any case.
    mutating func bool(_ key: String, _ node: YAMLNode) -> Bool? {
        guard case .scalar(let text, let plain) = node.value else {
            report(.wrongType(key: key, expected: "true or false", found: node.kindDescription), at: node.location)
            return nil
        }
        if node.isNull {
            report(.emptyValue(key: key), at: node.location)
            return nil
        }
        let lowered = text.lowercased()
        let word: Bool? = ["true", "yes", "on"].contains(lowered) ? true : ["false", "no", "off"].contains(lowered) ? false : nil
        guard plain, node.tag == nil || node.tag == "tag:yaml.org,2002:bool" else {
            report(word == nil ? .invalidBoolean(key: key, found: text) : .quotedBoolean(key: key), at: node.location)
            return nil
        }
        guard let word else {
            report(.invalidBoolean(key: key, found: text), at: node.location)
            return nil
        }
        return word
    }

    /// One of `valid`, compared case-insensitively.
    mutating func choice(_ key: String, _ text: String, at location: SourceLocation, among valid: [String]) -> String? {
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard valid.contains(lowered) else {
            report(.invalidChoice(key: key, value: text, valid: valid, suggestion: Suggestion.nearest(to: text, in: valid)), at: location)
            return nil
        }
        return lowered
    }

    /// One of an enumeration's raw values, compared case-insensitively.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ text: String, at location: SourceLocation, as type: T.Type) -> T? where T.RawValue == String {
        let valid = T.allCases.map(\.rawValue)
        guard let value = T(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
            report(.invalidChoice(key: key, value: text, valid: valid, suggestion: Suggestion.nearest(to: text, in: valid)), at: location)
            return nil
        }
        return value
    }
}
