import DatapinKit
import Foundation
import Testing
import TestSupport

/// Loading helpers shared by the spec tests.
enum SpecSamples {
    static let file = "datapin.yaml"

    /// A dataset list that is valid in every spec below, for rows whose mistake is elsewhere.
    static let validDatasets = ["datasets:", "  - archive: mast", "    obsids: [\"87621090\"]"]

    static func text(_ lines: [String]) -> String {
        lines.joined(separator: "\n") + "\n"
    }

    /// Loads `text`, failing the test with the rendered diagnostics when it does not load.
    static func load(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> LoadedSpec {
        do {
            return try SpecLoader.load(text: text, file: file, grammar: ArchiveRegistry.grammar)
        } catch {
            Issue.record(Comment(rawValue: "expected the spec to load:\n" + error.diagnostics.map { $0.rendered() }.joined(separator: "\n")), sourceLocation: sourceLocation)
            throw error
        }
    }

    /// The diagnostics of a spec expected not to load (empty when it loads).
    static func diagnostics(_ text: String) -> [Diagnostic] {
        do {
            _ = try SpecLoader.load(text: text, file: file, grammar: ArchiveRegistry.grammar)
            return []
        } catch {
            return error.diagnostics
        }
    }
}

/// One spec with one mistake: where it must be reported and a distinctive part of the message.
struct SpecErrorCase: Sendable, CustomTestStringConvertible {
    var name: String
    var lines: [String]
    var line: Int
    var column: Int
    var message: String
    /// Whether the diagnostic quotes the line; only a spec without any YAML document has none to quote.
    var quotesLine: Bool

    init(_ name: String, _ lines: [String], at position: (Int, Int), _ message: String, quotesLine: Bool = true) {
        self.name = name
        self.quotesLine = quotesLine
        self.lines = lines
        self.line = position.0
        self.column = position.1
        self.message = message
    }

    var testDescription: String { name }
}

@Suite struct SpecLoaderTests {
    static let ok = SpecSamples.validDatasets

    static let syntaxCases: [SpecErrorCase] = [
        SpecErrorCase("value indented under a scalar", ["version: 1", "destination: data", "  layout: flat"] + ok, at: (3, 9), "this is not valid YAML: mapping values are not allowed"),
        SpecErrorCase("tab before a key", ["version: 1", "\tlayout: flat"] + ok, at: (2, 1), "this is not valid YAML: found a tab character that violates indentation"),
        SpecErrorCase("unclosed flow list", ["version: 1", "select:", "  levels: [2b, 3", "datasets: []"], at: (4, 9), "this is not valid YAML: did not find expected ',' or ']'"),
    ]

    static let structureCases: [SpecErrorCase] = [
        SpecErrorCase("empty file", [""], at: (1, 1), "the spec is empty", quotesLine: false),
        SpecErrorCase("comments only", ["# nothing yet"], at: (1, 1), "the spec is empty", quotesLine: false),
        SpecErrorCase("a list at the top", ["- version: 1"], at: (1, 1), "the spec must be a mapping of keys (version, datasets, …), found a list"),
        SpecErrorCase("no version", ["destination: data"] + ok, at: (1, 1), "missing key 'version' at the top level; add `version: 1` as the first line"),
        SpecErrorCase("duplicate key", ["version: 1", "layout: flat", "layout: nested"] + ok, at: (3, 1), "duplicate key 'layout' at the top level; each key may appear only once"),
        SpecErrorCase("duplicate archive", ["version: 1", "archives:", "  mast: {}", "  mast: {}"] + ok, at: (4, 3), "duplicate key 'mast' in archives"),
        SpecErrorCase("duplicate where condition", ["version: 1", "datasets:", "  - archive: mast", "    mission: jwst", "    where: {program: \"1\", program: \"2\"}"], at: (5, 27), "duplicate key 'program' in where"),
        SpecErrorCase("list as a key", ["version: 1", "? [a, b]", ": x"] + ok, at: (2, 3), "a key at the top level is a list or a mapping"),
    ]

    static let unknownKeyCases: [SpecErrorCase] = [
        SpecErrorCase("top level, misspelt", ["version: 1", "destinaton: data"] + ok, at: (2, 1), "unknown key 'destinaton' at the top level; did you mean 'destination'?"),
        SpecErrorCase("select, misspelt", ["version: 1", "select:", "  suffix: [cal]"] + ok, at: (3, 3), "unknown key 'suffix' in select; did you mean 'suffixes'?"),
        SpecErrorCase("select, max size misspelt", ["version: 1", "select:", "  maxsize: 2 GB"] + ok, at: (3, 3), "unknown key 'maxsize' in select; did you mean 'max_size'?"),
        SpecErrorCase("dataset entry, misspelt", ["version: 1", "datasets:", "  - archive: mast", "    obsids: [\"1\"]", "    misson: jwst"], at: (5, 5), "unknown key 'misson' in dataset entry 1; did you mean 'mission'?"),
        SpecErrorCase("second dataset entry", ["version: 1", "datasets:", "  - archive: mast", "    obsids: [\"1\"]", "  - archive: eso", "    id: [X]"], at: (6, 5), "unknown key 'id' in dataset entry 2; did you mean 'ids'?"),
        SpecErrorCase("archive setting, misspelt", ["version: 1", "archives:", "  mast:", "    tokn_env: MAST_TOKEN"] + ok, at: (4, 5), "unknown key 'tokn_env' in archive 'mast'; did you mean 'token_env'?"),
        SpecErrorCase("filter at the top level", ["version: 1", "levels: [3]"] + ok, at: (2, 1), "unknown key 'levels' at the top level; 'levels' is a filter: put it under 'select:'"),
        SpecErrorCase("filter in a dataset entry", ["version: 1", "datasets:", "  - archive: mast", "    obsids: [\"1\"]", "    suffixes: [cal]"], at: (5, 5), "'suffixes' is a filter: put it under 'select:'"),
        SpecErrorCase("nothing close", ["version: 1", "colour: red"] + ok, at: (2, 1), "unknown key 'colour' at the top level; valid keys are version, destination, layout, duplicates, manifest, case_sensitive, archives, select, datasets"),
    ]

    static let typeCases: [SpecErrorCase] = [
        SpecErrorCase("version is a word", ["version: one"] + ok, at: (1, 10), "expected the number 1 for 'version', found 'one'"),
        SpecErrorCase("version is quoted", ["version: \"1\""] + ok, at: (1, 10), "expected the number 1 for 'version', found '1'"),
        SpecErrorCase("version 2", ["version: 2"] + ok, at: (1, 10), "unsupported spec version 2; this datapin reads version 1"),
        SpecErrorCase("destination is a list", ["version: 1", "destination: [a, b]"] + ok, at: (2, 14), "expected a string for 'destination', found a list"),
        SpecErrorCase("destination is empty", ["version: 1", "destination: \"\""] + ok, at: (2, 14), "empty value in 'destination'"),
        SpecErrorCase("manifest is a word", ["version: 1", "manifest: maybe"] + ok, at: (2, 11), "expected true or false for 'manifest', found 'maybe'"),
        SpecErrorCase("manifest is quoted", ["version: 1", "manifest: \"true\""] + ok, at: (2, 11), "expected true or false for 'manifest', found a quoted string; remove the quotes"),
        SpecErrorCase("recommended is a number", ["version: 1", "select:", "  recommended: 1"] + ok, at: (3, 16), "expected true or false for 'recommended', found '1'"),
        SpecErrorCase("select is a list", ["version: 1", "select: [levels]"] + ok, at: (2, 9), "expected a mapping of filters (levels, suffixes, …) for 'select', found a list"),
        SpecErrorCase("levels is a mapping", ["version: 1", "select:", "  levels: {a: 1}"] + ok, at: (3, 11), "expected a list of strings for 'levels', found a mapping"),
        SpecErrorCase("list inside a filter list", ["version: 1", "select:", "  suffixes: [cal, [x1d]]"] + ok, at: (3, 19), "expected a list of strings for 'suffixes', found a list inside the list"),
        SpecErrorCase("datasets is a mapping", ["version: 1", "datasets: {archive: mast}"], at: (2, 11), "expected a list of dataset entries for 'datasets', found a mapping"),
        SpecErrorCase("dataset entry is a scalar", ["version: 1", "datasets:", "  - mast"], at: (3, 5), "expected a mapping (archive, ids, …) for each entry for 'datasets', found a scalar"),
        SpecErrorCase("archives is a list", ["version: 1", "archives: [mast]"] + ok, at: (2, 11), "expected a mapping of archive names to their settings for 'archives', found a list"),
        SpecErrorCase("archive settings are a scalar", ["version: 1", "archives:", "  mast: mirror"] + ok, at: (3, 9), "expected a mapping of settings (type, url, token_env, …) for 'mast', found a scalar"),
        SpecErrorCase("where is a list", ["version: 1", "datasets:", "  - archive: mast", "    mission: jwst", "    where: [program]"], at: (5, 12), "expected a mapping of conditions such as {program: \"02734\"} for 'where', found a list"),
        SpecErrorCase("ids holds an empty item", ["version: 1", "datasets:", "  - archive: eso", "    ids: [X, \"\"]"], at: (4, 14), "empty value in 'ids'"),
    ]

    static let choiceCases: [SpecErrorCase] = [
        SpecErrorCase("duplicates misspelt", ["version: 1", "duplicates: lnk"] + ok, at: (2, 13), "invalid value 'lnk' for 'duplicates'; valid values are once, link, copy; did you mean 'link'?"),
        SpecErrorCase("types misspelt", ["version: 1", "select:", "  types: [science, previw]"] + ok, at: (3, 20), "invalid value 'previw' for 'types'; valid values are science, exposure, auxiliary, preview, info, reference, association, calibration; did you mean 'preview'?"),
        SpecErrorCase("access unknown", ["version: 1", "select:", "  access: [private]"] + ok, at: (3, 12), "invalid value 'private' for 'access'; valid values are public, exclusive"),
        SpecErrorCase("calibrations misspelt", ["version: 1", "datasets:", "  - archive: eso", "    ids: [X]", "    calibrations: raw2mastr"], at: (5, 19), "invalid value 'raw2mastr' for 'calibrations'; valid values are none, raw2raw, raw2master; did you mean 'raw2master'?"),
        SpecErrorCase("archive type misspelt", ["version: 1", "archives:", "  lab:", "    type: indx", "    url: ./catalog.json"] + ok, at: (4, 11), "invalid value 'indx' for 'type'; valid values are index, mast, eso, scicat, vo; did you mean 'index'?"),
    ]

    static let layoutCases: [SpecErrorCase] = [
        SpecErrorCase("misspelt word", ["version: 1", "layout: nestd"] + ok, at: (2, 9), "invalid layout 'nestd'; write nested, flat, or a template containing {filename}; did you mean 'nested'?"),
        SpecErrorCase("template without filename", ["version: 1", "layout: \"{dataset}/data.fits\""] + ok, at: (2, 9), "the layout template '{dataset}/data.fits' has no {filename}"),
        SpecErrorCase("unknown placeholder, plain", ["version: 1", "layout: by/{datset}/{filename}"] + ok, at: (2, 12), "unknown placeholder '{datset}' in layout; did you mean '{dataset}'?"),
        SpecErrorCase("unknown placeholder, quoted", ["version: 1", "layout: '{archive}/{missoin}/{filename}'"] + ok, at: (2, 20), "unknown placeholder '{missoin}' in layout; did you mean '{mission}'?"),
        SpecErrorCase("unknown placeholder, nothing close", ["version: 1", "layout: \"{date}/{filename}\""] + ok, at: (2, 10), "unknown placeholder '{date}' in layout; valid placeholders are {archive}, {mission}"),
        SpecErrorCase("unbalanced braces", ["version: 1", "layout: a/{dataset/{filename}"] + ok, at: (2, 9), "has an unmatched brace"),
        SpecErrorCase("climbs out", ["version: 1", "layout: ../{filename}"] + ok, at: (2, 9), "the layout template '../{filename}' does not lay out a safe path inside destination: the path has a '..' component"),
        SpecErrorCase("climbs out between placeholders", ["version: 1", "layout: '{dataset}/../{filename}'"] + ok, at: (2, 9), "the path has a '..' component"),
        SpecErrorCase("absolute", ["version: 1", "layout: /tmp/{filename}"] + ok, at: (2, 9), "does not lay out a safe path inside destination: the path is absolute"),
        SpecErrorCase("absolute after collapsing", ["version: 1", "layout: //{filename}"] + ok, at: (2, 9), "the path is absolute"),
        SpecErrorCase("home folder", ["version: 1", "layout: ~/{filename}"] + ok, at: (2, 9), "it starts with '~', which datapin does not expand to a home folder"),
        SpecErrorCase("dot component", ["version: 1", "layout: ./{dataset}/{filename}"] + ok, at: (2, 9), "the path has a '.' component"),
        SpecErrorCase("datapin's working folder", ["version: 1", "layout: .datapin/{filename}"] + ok, at: (2, 9), "the path starts with '.datapin', which datapin reserves"),
        SpecErrorCase("control character", ["version: 1", "layout: \"a\\tb/{filename}\""] + ok, at: (2, 9), "the layout template 'a\\tb/{filename}' does not lay out a safe path inside destination: the path contains a control character"),
    ]

    static let patternCases: [SpecErrorCase] = [
        SpecErrorCase("unclosed group", ["version: 1", "select:", "  include: ['seg(001']"] + ok, at: (3, 13), "invalid regular expression 'seg(001': a '(' is never closed with ')'"),
        SpecErrorCase("unclosed class, block list", ["version: 1", "select:", "  exclude:", "    - '_rate'", "    - '[abc'"] + ok, at: (5, 7), "invalid regular expression '[abc': a '[' is never closed with ']'"),
        SpecErrorCase("stray parenthesis", ["version: 1", "select:", "  exclude: [\"a)b\"]"] + ok, at: (3, 13), "a ')' has no matching '('"),
        SpecErrorCase("nothing to repeat, in an entry", ["version: 1", "datasets:", "  - archive: mast", "    obsids: [\"1\"]", "    select: {include: ['*.fits']}"], at: (5, 24), "invalid regular expression '*.fits': it starts with a quantifier ('*') that has nothing to repeat"),
    ]

    static let archiveCases: [SpecErrorCase] = [
        SpecErrorCase("unknown archive, misspelt", ["version: 1", "datasets:", "  - archive: mats", "    obsids: [\"1\"]"], at: (3, 14), "unknown archive 'mats'; did you mean 'mast'?"),
        SpecErrorCase("unknown archive, nothing close", ["version: 1", "archives:", "  lab:", "    type: index", "    url: ./catalog.json", "datasets:", "  - archive: zenodo", "    ids: [x]"], at: (7, 14), "unknown archive 'zenodo'; known archives are mast, eso, lab"),
        SpecErrorCase("no archive in an entry", ["version: 1", "datasets:", "  - obsids: [\"1\"]"], at: (3, 5), "missing key 'archive' in dataset entry 1; name the archive to ask (mast, eso)"),
        SpecErrorCase("archive without type", ["version: 1", "archives:", "  lab:", "    url: ./catalog.json"] + ok, at: (3, 3), "archive 'lab' needs 'type:' (index, mast, eso, scicat or vo); only mast and eso are built in"),
        SpecErrorCase("scicat without url", ["version: 1", "archives:", "  ess:", "    type: scicat"] + ok, at: (3, 3), "archive 'ess' (type scicat) needs 'url:', the archive's base URL"),
        SpecErrorCase("index without url", ["version: 1", "archives:", "  lab: {type: index}"] + ok, at: (3, 3), "archive 'lab' (type index) needs 'url:', the catalog's path or URL"),
        SpecErrorCase("url with a wrong scheme", ["version: 1", "archives:", "  mast:", "    url: ftp://mirror.example.org"] + ok, at: (4, 10), "'url' of archive 'mast' must be a http:// or https:// URL"),
        SpecErrorCase("files with a wrong scheme", ["version: 1", "archives:", "  ess:", "    type: scicat", "    url: https://scicat.example.org/api/v3", "    files: ftp://files.example.org"] + ok, at: (6, 12), "'files' of archive 'ess' must be a https://, http://, sftp:// or file:// URL"),
        SpecErrorCase("files on mast", ["version: 1", "archives:", "  mast:", "    files: sftp://login.example.org"] + ok, at: (4, 5), "'files' does not apply to archive 'mast' (type mast), which takes type, url and token_env; only scicat archives accept it"),
        SpecErrorCase("username without password", ["version: 1", "archives:", "  eso:", "    username_env: ESO_USER"] + ok, at: (4, 5), "archive 'eso' has 'username_env' but no 'password_env'; give both, or use token_env"),
        SpecErrorCase("archive name with a space", ["version: 1", "archives:", "  \"my lab\":", "    type: index", "    url: ./catalog.json"] + ok, at: (3, 3), "invalid archive name 'my lab'; use letters, digits, '-', '_' and '.' only"),
        SpecErrorCase("archive named ..", ["version: 1", "archives:", "  \"..\":", "    type: index", "    url: ./catalog.json"] + ok, at: (3, 3), "invalid archive name '..'"),
    ]

    static let datasetCases: [SpecErrorCase] = [
        SpecErrorCase("adql on mast", ["version: 1", "datasets:", "  - archive: mast", "    obsids: [\"1\"]", "    adql: SELECT 1"], at: (5, 5), "'adql' does not apply to archive 'mast' (type mast), which takes archive, mission, ids, where, obsids and select; only eso and vo archives accept it"),
        SpecErrorCase("pids on eso", ["version: 1", "datasets:", "  - archive: eso", "    ids: [X]", "    pids: [p]"], at: (5, 5), "'pids' does not apply to archive 'eso' (type eso), which takes archive, ids, adql, calibrations and select; only scicat archives accept it"),
        SpecErrorCase("nothing to take", ["version: 1", "datasets:", "  - archive: eso", "    calibrations: none"], at: (3, 5), "this entry does not say which datasets to take from 'eso'; a eso entry needs ids or adql"),
        SpecErrorCase("ids without mission", ["version: 1", "datasets:", "  - archive: mast", "    ids: [jw02734001001_02101_00001]"], at: (4, 5), "'ids' on a mast archive needs 'mission:'"),
        SpecErrorCase("mission with a space", ["version: 1", "datasets:", "  - archive: mast", "    mission: James Webb", "    ids: [jw1]"], at: (4, 14), "invalid mission 'James Webb'; write one word such as jwst, hst or roman"),
        SpecErrorCase("empty where", ["version: 1", "datasets:", "  - archive: mast", "    mission: jwst", "    where: {}"], at: (5, 12), "'where' has no condition"),
        SpecErrorCase("empty ids", ["version: 1", "datasets:", "  - archive: eso", "    ids: []"], at: (4, 10), "'ids' is an empty list; list at least one, or remove the key"),
    ]

    static let sizeCases: [SpecErrorCase] = [
        SpecErrorCase("unknown unit", ["version: 1", "select:", "  max_size: 2 XB"] + ok, at: (3, 13), "invalid size '2 XB' for 'max_size'; write a number of bytes (1048576) or a number with a unit"),
        SpecErrorCase("a word", ["version: 1", "select:", "  max_size: lots"] + ok, at: (3, 13), "invalid size 'lots' for 'max_size'"),
        SpecErrorCase("negative", ["version: 1", "select:", "  max_size: -5"] + ok, at: (3, 13), "invalid size '-5' for 'max_size'"),
        SpecErrorCase("fraction of a byte count", ["version: 1", "select:", "  max_size: 1.5"] + ok, at: (3, 13), "invalid size '1.5' for 'max_size'"),
        SpecErrorCase("two dots", ["version: 1", "select:", "  max_size: 1.2.3 GB"] + ok, at: (3, 13), "invalid size '1.2.3 GB' for 'max_size'"),
        SpecErrorCase("too large", ["version: 1", "select:", "  max_size: 99999 PB"] + ok, at: (3, 13), "invalid size '99999 PB' for 'max_size'"),
        SpecErrorCase("in an entry", ["version: 1", "datasets:", "  - archive: mast", "    obsids: [\"1\"]", "    select: {max_size: 2 GBs}"], at: (5, 24), "invalid size '2 GBs' for 'max_size'"),
    ]

    @Test(arguments: syntaxCases + structureCases + unknownKeyCases + typeCases + choiceCases + layoutCases + patternCases + archiveCases + datasetCases + sizeCases)
    func reportsTheMistakeAtItsPlace(_ row: SpecErrorCase) throws {
        let text = SpecSamples.text(row.lines)
        let diagnostics = SpecSamples.diagnostics(text)
        let errors = diagnostics.filter { $0.severity == .error }
        let found = errors.first { $0.location?.line == row.line && $0.location?.column == row.column && $0.message.contains(row.message) }
        let rendered = diagnostics.map { $0.rendered() }.joined(separator: "\n")
        let diagnostic = try #require(found, "expected an error at \(row.line):\(row.column) containing \"\(row.message)\", got:\n\(rendered)")
        let output = diagnostic.rendered().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(output[0] == "datapin.yaml:\(row.line):\(row.column): error: \(diagnostic.message)")
        if row.quotesLine {
            #expect(output.count == 3)
            #expect(output.dropFirst().first == "    " + row.lines[row.line - 1].replacingOccurrences(of: "\t", with: " "))
            #expect(output.last == "    " + String(repeating: " ", count: row.column - 1) + "^")
        } else {
            #expect(output.count == 1)
        }
    }

    @Test func rendersTheDesignExampleExactly() {
        let text = SpecSamples.text(["version: 1", "destination: data", "layout: nested", "duplicates: once", "manifest: true", "select:", "  suffix: [cal]"] + Self.ok)
        let diagnostics = SpecSamples.diagnostics(text)
        #expect(diagnostics.map { $0.rendered() } == [
            """
            datapin.yaml:7:3: error: unknown key 'suffix' in select; did you mean 'suffixes'?
                  suffix: [cal]
                  ^
            """,
        ])
    }

    @Test func reportsEveryErrorInOneLoadInFileOrder() {
        let text = SpecSamples.text([
            "version: 1",
            "layout: nestd",
            "select:",
            "  suffix: [cal]",
            "  include: ['seg(001']",
            "  max_size: 2 XB",
            "datasets:",
            "  - archive: mats",
            "    obsids: [\"1\"]",
        ])
        let errors = SpecSamples.diagnostics(text).filter { $0.severity == .error }
        #expect(errors.map { $0.location.map { "\($0.line):\($0.column)" } ?? "-" } == ["2:9", "4:3", "5:13", "6:13", "8:14"])
        #expect(errors.map(\.message) == [
            "invalid layout 'nestd'; write nested, flat, or a template containing {filename}; did you mean 'nested'?",
            "unknown key 'suffix' in select; did you mean 'suffixes'?",
            "invalid regular expression 'seg(001': a '(' is never closed with ')'",
            "invalid size '2 XB' for 'max_size'; write a number of bytes (1048576) or a number with a unit (500 MB, 1.5 GB, 2 GiB)",
            "unknown archive 'mats'; did you mean 'mast'?",
        ])
    }

    @Test func reportsFourDifferentErrorsTogether() {
        let text = SpecSamples.text([
            "version: 2",
            "manifest: maybe",
            "colour: red",
            "datasets:",
            "  - archive: eso",
            "    ids: [X]",
            "    calibrations: raw2mastr",
        ])
        let errors = SpecSamples.diagnostics(text).filter { $0.severity == .error }
        #expect(errors.count == 4)
        #expect(errors.compactMap(\.location?.line) == [1, 2, 3, 7])
    }

    @Test func neverQuotesALiteralTokenInADiagnostic() throws {
        let token = "ghp_0123456789abcdefABCDEF0123"
        let text = SpecSamples.text(["version: 1", "archives:", "  mast:", "    token_env: \(token)", "    api_token: s3cr3t-value-here", "    url: ftp://x"] + Self.ok)
        let diagnostics = SpecSamples.diagnostics(text)
        let rendered = diagnostics.map { $0.rendered() }.joined(separator: "\n")
        #expect(diagnostics.filter { $0.severity == .error }.count == 3)
        #expect(!rendered.contains(token))
        #expect(!rendered.contains("s3cr3t"))
        #expect(rendered.contains("    token_env: ***"))
        #expect(rendered.contains("    api_token: ***"))
        let tokenError = try #require(diagnostics.first { $0.message.contains("token_env names an environment variable, not the token itself") })
        #expect(tokenError.location?.line == 4 && tokenError.location?.column == 16)
    }

    @Test func neverQuotesALiteralTokenInASyntaxError() {
        let token = "ghp_0123456789abcdefABCDEF0123"
        let rendered = SpecSamples.diagnostics(SpecSamples.text(["version: 1", "archives:", "  mast:", "    token_env: \(token): x"] + Self.ok)).map { $0.rendered() }.joined(separator: "\n")
        #expect(rendered.contains("this is not valid YAML"))
        #expect(!rendered.contains(token))
        #expect(rendered.contains("\n        token_env: ***\n"))
        let flow = SpecSamples.diagnostics(SpecSamples.text(["version: 1", "archives:", "  eso: {url: https://eso.example.org, password_env: \(token): x}"] + Self.ok)).map { $0.rendered() }.joined(separator: "\n")
        #expect(flow.contains("this is not valid YAML"))
        #expect(!flow.contains(token))
        #expect(flow.contains("  eso: {url: https://eso.example.org, password_env: ***"))
    }

    /// A spec saved with CRLF line ends is masked line by line too (split as characters, a
    /// CRLF file is one line, and every line after the first would be quoted unmasked).
    @Test func neverQuotesASecretOfACRLFSpec() throws {
        let token = "ghp_0123456789abcdefABCDEF0123"
        let lines = ["version: 1", "archives:", "  mast:", "    token_env: \(token)", "    url: https://jane:s3cr3tpass@mast.example.org"] + Self.ok
        let crlf = lines.joined(separator: "\r\n") + "\r\n"
        let rendered = SpecSamples.diagnostics(crlf).map { $0.rendered() }.joined(separator: "\n")
        #expect(rendered.contains("datapin.yaml:4:"), "\(rendered)")
        #expect(!rendered.contains(token), "\(rendered)")
        #expect(!rendered.contains("s3cr3tpass"), "\(rendered)")
        #expect(rendered.contains("    token_env: ***"), "\(rendered)")

        let broken = (["version: 1", "archives:", "  mast:", "    url: https://jane:s3cr3tpass@mast.example.org", "    token_env: \(token): x"] + Self.ok).joined(separator: "\r\n")
        let syntax = SpecSamples.diagnostics(broken).map { $0.rendered() }.joined(separator: "\n")
        #expect(syntax.contains("this is not valid YAML"), "\(syntax)")
        #expect(!syntax.contains(token) && !syntax.contains("s3cr3tpass"), "\(syntax)")
    }

    // MARK: Warnings

    @Test(arguments: [
        (["version: 1", "datasets: []"], 2, 11, "the spec lists no datasets, so the lock will be empty"),
        (["version: 1"], 1, 1, "the spec lists no datasets"),
        (["version: 1", "select:", "  levels: []"] + SpecSamples.validDatasets, 3, 3, "'levels' is an empty list, so no file can pass it"),
        (["version: 1", "datasets:", "  - archive: mast", "    mission: jwst", "    obsids: [\"1\"]"], 4, 5, "'mission' has no effect on 'obsids'"),
    ])
    func warnsWithoutFailing(lines: [String], line: Int, column: Int, message: String) throws {
        let loaded = try SpecSamples.load(SpecSamples.text(lines))
        let warning = try #require(loaded.warnings.first)
        #expect(loaded.warnings.count == 1)
        #expect(warning.severity == .warning)
        #expect(warning.location?.line == line && warning.location?.column == column)
        #expect(warning.message.contains(message))
        #expect(warning.rendered().hasPrefix("datapin.yaml:\(line):\(column): warning: "))
    }

    @Test func warningsDoNotHideErrors() {
        let diagnostics = SpecSamples.diagnostics(SpecSamples.text(["version: 1", "select:", "  levels: []", "  max_size: lots", "datasets: []"]))
        #expect(diagnostics.map(\.severity) == [.warning, .error, .warning])
    }

    // MARK: Files

    @Test func loadsAFileAndNamesItInDiagnostics() throws {
        let directory = try TestEnvironment.makeScratchDirectory("spec-loader")
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("datapin.yaml")
        try SpecSamples.text(["version: 1"] + Self.ok).write(to: good, atomically: true, encoding: .utf8)
        let loaded = try SpecLoader.load(contentsOf: good.path, grammar: ArchiveRegistry.grammar)
        #expect(loaded.spec.file == good.path)
        #expect(loaded.spec.datasets.count == 1)

        let bad = directory.appendingPathComponent("bad.yaml")
        try SpecSamples.text(["version: 1", "layout: nestd"] + Self.ok).write(to: bad, atomically: true, encoding: .utf8)
        #expect {
            _ = try SpecLoader.load(contentsOf: bad.path, grammar: ArchiveRegistry.grammar)
        } throws: { error in
            (error as? DiagnosticList)?.diagnostics.first?.rendered().hasPrefix("\(bad.path):2:9: error: invalid layout 'nestd'") == true
        }
    }

    @Test func unreadableFilesAreDiagnostics() throws {
        let directory = try TestEnvironment.makeScratchDirectory("spec-loader")
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("latin1.yaml")
        try Data([0x76, 0x65, 0x72, 0xFF, 0xFE, 0x0A]).write(to: binary)
        let cases: [(String, String)] = [
            (directory.appendingPathComponent("missing.yaml").path, "the file does not exist (`datapin init` writes a starter)"),
            (directory.path, "it is a directory"),
        ]
        for (path, reason) in cases {
            #expect {
                _ = try SpecLoader.load(contentsOf: path, grammar: ArchiveRegistry.grammar)
            } throws: { error in
                (error as? DiagnosticList)?.diagnostics.map(\.message) == ["cannot read the spec \(path): \(reason)"]
            }
        }
        #expect {
            _ = try SpecLoader.load(contentsOf: binary.path, file: "latin1.yaml", grammar: ArchiveRegistry.grammar)
        } throws: { error in
            (error as? DiagnosticList)?.diagnostics.map { $0.rendered() } == ["latin1.yaml:1:4: error: byte 0xFF here is not UTF-8, so latin1.yaml is a binary file or in another encoding (such as Latin-1); latin1.yaml must be UTF-8 text"]
        }
    }

    // MARK: Valid specs

    static let designExample = SpecSamples.text([
        "version: 1",
        "destination: data          # root of the synced tree",
        "layout: nested",
        "duplicates: once",
        "manifest: true",
        "",
        "archives:",
        "  mast:",
        "    url: https://mast.stsci.edu",
        "    token_env: MAST_API_TOKEN",
        "  eso:",
        "    username_env: ESO_USER",
        "    password_env: ESO_PASSWORD",
        "  ess:",
        "    type: scicat",
        "    url: https://scicat.ess.eu/api/v3",
        "    token_env: SCICAT_TOKEN",
        "    files: sftp://login.esss.dk",
        "  lab:",
        "    type: index",
        "    url: ./archive/catalog.json",
        "",
        "select:",
        "  levels: [2b, 3]",
        "  suffixes: [_cal, x1dints, CAL]",
        "  extensions: [.fits, FITS]",
        "  types: [science]",
        "  match: [nis]",
        "  include: ['seg00[1-3]']",
        "  exclude: ['_rateints']",
        "  recommended: false",
        "  guidestar: false",
        "  calibration_references: false",
        "  access: [public, exclusive]",
        "  max_size: 2 GB",
        "",
        "datasets:",
        "  - archive: mast",
        "    mission: JWST",
        "    ids: [jw02734001001_02101_00001, jw02734-o002_t002_niriss]",
        "  - archive: mast",
        "    mission: jwst",
        "    where: {program: \"02734\", instrument_name: [NIRISS, NIRCAM]}",
        "  - archive: mast",
        "    obsids: [\"87621090\", 87621091]",
        "  - archive: eso",
        "    ids: [SPHER.2016-09-26T03:04:09.308]",
        "    calibrations: raw2master",
        "  - archive: eso",
        "    adql: \"SELECT dp_id FROM dbo.raw WHERE prog_id='098.C-0739(C)' ORDER BY dp_id\"",
        "  - archive: ess",
        "    pids: [\"20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3\"]",
        "  - archive: lab",
        "    ids: [ds001]",
        "    select: {levels: [\"3\"], max_size: 500 MiB, recommended: yes}",
    ])

    @Test func loadsEveryKeyOfTheDesignExample() throws {
        let loaded = try SpecSamples.load(Self.designExample)
        #expect(loaded.warnings.isEmpty)
        let spec = loaded.spec
        #expect(spec.file == "datapin.yaml")
        #expect(spec.version == 1)
        #expect(spec.destination == "data")
        #expect(spec.layout == .nested)
        #expect(spec.layoutLocation?.line == 3 && spec.layoutLocation?.column == 9)
        #expect(spec.duplicates == .once)
        #expect(spec.manifest == true)

        #expect(spec.archives.map(\.name) == ["mast", "eso", "ess", "lab"])
        let mast = try #require(spec.archive(named: "mast"))
        #expect(mast.kind == .mast && mast.url == "https://mast.stsci.edu" && mast.tokenEnv == "MAST_API_TOKEN")
        #expect(mast.location?.line == 8)
        let eso = try #require(spec.archive(named: "eso"))
        #expect(eso.kind == .eso && eso.usernameEnv == "ESO_USER" && eso.passwordEnv == "ESO_PASSWORD" && eso.url == nil)
        let ess = try #require(spec.archive(named: "ess"))
        #expect(ess == ArchiveConfig(name: "ess", kind: .scicat, url: "https://scicat.ess.eu/api/v3", tokenEnv: "SCICAT_TOKEN", files: "sftp://login.esss.dk", location: ess.location))
        #expect(ess.location?.line == 14 && ess.location?.column == 3)
        let lab = try #require(spec.archive(named: "lab"))
        #expect(lab.kind == .index && lab.url == "./archive/catalog.json")

        let select = spec.select
        #expect(select.levels == ["2b", "3"])
        #expect(select.suffixes == ["_cal", "_x1dints"])
        #expect(select.extensions == [".fits"])
        #expect(select.types == [.science])
        #expect(select.match == ["nis"])
        #expect(select.include?.map(\.source) == ["seg00[1-3]"])
        #expect(select.include?.first?.location?.line == 29 && select.include?.first?.location?.column == 13)
        #expect(select.exclude?.map(\.source) == ["_rateints"])
        #expect(select.recommended == false && select.guidestar == false && select.calibrationReferences == false)
        #expect(select.access == [.public, .exclusive])
        #expect(select.maxSize == 2_000_000_000)

        let entries = spec.datasets
        #expect(entries.map(\.index) == Array(0..<7))
        #expect(entries.map(\.archive) == ["mast", "mast", "mast", "eso", "eso", "ess", "lab"])
        #expect(entries[0].mission == "jwst")
        #expect(entries[0].ids == ["jw02734001001_02101_00001", "jw02734-o002_t002_niriss"])
        #expect(entries[0].location?.line == 38 && entries[0].location?.column == 5)
        #expect(entries[0].archiveLocation?.line == 38 && entries[0].archiveLocation?.column == 14)
        #expect(entries[1].whereConditions == [WhereCondition(name: "program", values: ["02734"]), WhereCondition(name: "instrument_name", values: ["NIRISS", "NIRCAM"])])
        #expect(entries[2].obsids == ["87621090", "87621091"])
        #expect(entries[2].mission == nil)
        #expect(entries[3].ids == ["SPHER.2016-09-26T03:04:09.308"] && entries[3].calibrations == .raw2master)
        #expect(entries[4].adql == "SELECT dp_id FROM dbo.raw WHERE prog_id='098.C-0739(C)' ORDER BY dp_id")
        #expect(entries[5].pids == ["20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3"])
        #expect(entries[6].ids == ["ds001"])
        #expect(entries[6].select == SelectFilters(levels: ["3"], recommended: true, maxSize: 524_288_000))
        #expect(entries[0].select == nil)
        #expect(select.overridden(by: entries[6].select).levels == ["3"])
        #expect(select.overridden(by: entries[6].select).suffixes == ["_cal", "_x1dints"])
    }

    @Test func defaultsWhenOnlyTheRequiredKeysAreGiven() throws {
        let spec = try SpecSamples.load(SpecSamples.text(["version: 1"] + Self.ok)).spec
        #expect(spec.destination == "data")
        #expect(spec.layout == .nested && spec.layoutLocation == nil)
        #expect(spec.duplicates == .once)
        #expect(spec.manifest == true)
        #expect(spec.archives.map(\.name) == ["mast", "eso"])
        #expect(spec.archive(named: "mast")?.tokenEnv == "MAST_API_TOKEN")
        #expect(spec.archive(named: "mast")?.location == nil)
        #expect(spec.select == SelectFilters())
    }

    @Test(arguments: [
        ("nested", Layout.nested),
        ("Flat", .flat),
        ("\"{archive}/{mission}/{dataset}/{level}/{suffix}/{instrument}/{filename}\"", .template("{archive}/{mission}/{dataset}/{level}/{suffix}/{instrument}/{filename}")),
        ("by-dataset/{dataset}/{filename}", .template("by-dataset/{dataset}/{filename}")),
        ("'{filename}'", .template("{filename}")),
    ])
    func readsLayouts(written: String, expected: Layout) throws {
        let spec = try SpecSamples.load(SpecSamples.text(["version: 1", "layout: \(written)"] + Self.ok)).spec
        #expect(spec.layout == expected)
    }

    @Test(arguments: [("once", DuplicatePolicy.once), ("link", .link), ("COPY", .copy)])
    func readsDuplicatePolicies(written: String, expected: DuplicatePolicy) throws {
        let spec = try SpecSamples.load(SpecSamples.text(["version: 1", "duplicates: \(written)", "manifest: off"] + Self.ok)).spec
        #expect(spec.duplicates == expected)
        #expect(spec.manifest == false)
    }

    @Test(arguments: [
        ("2 GB", Int64(2_000_000_000)),
        ("500 MiB", 524_288_000),
        ("1.5GB", 1_500_000_000),
        ("1.5 gb", 1_500_000_000),
        ("2 GiB", 2_147_483_648),
        ("500 MB", 500_000_000),
        ("1.5 kB", 1_500),
        ("10 KiB", 10_240),
        ("1 TB", 1_000_000_000_000),
        ("1048576", 1_048_576),
        ("0", 0),
        ("10 B", 10),
        ("\"750 MB\"", 750_000_000),
    ])
    func readsSizes(written: String, bytes: Int64) throws {
        let spec = try SpecSamples.load(SpecSamples.text(["version: 1", "select:", "  max_size: \(written)"] + Self.ok)).spec
        #expect(spec.select.maxSize == bytes)
    }

    @Test func readsAScalarWhereAListBelongs() throws {
        let spec = try SpecSamples.load(SpecSamples.text([
            "version: 1",
            "select:",
            "  suffixes: CAL",
            "  extensions: fits",
            "  types: Preview",
            "  include: 'nis'",
            "datasets:",
            "  - archive: mast",
            "    mission: hst",
            "    ids: j8cw01010",
            "  - archive: mast",
            "    mission: jwst",
            "    where:",
            "      program: 02734",
            "      instrument_name: [NIRISS]",
        ])).spec
        #expect(spec.select.suffixes == ["_cal"])
        #expect(spec.select.extensions == [".fits"])
        #expect(spec.select.types == [.preview])
        #expect(spec.select.include == [FilePattern("nis", location: spec.select.include?.first?.location)])
        #expect(spec.datasets[0].mission == "hst" && spec.datasets[0].ids == ["j8cw01010"])
        #expect(spec.datasets[1].whereConditions == [WhereCondition(name: "program", values: ["02734"], kinds: [.number]), WhereCondition(name: "instrument_name", values: ["NIRISS"])])
    }

    @Test func overridesABuiltInArchiveAndKeepsItsDefaults() throws {
        let spec = try SpecSamples.load(SpecSamples.text(["version: 1", "archives:", "  mast:", "    url: http://127.0.0.1:8080", "  eso: {token_env: ESO_TOKEN}"] + Self.ok)).spec
        #expect(spec.archives.map(\.name) == ["mast", "eso"])
        #expect(spec.archive(named: "mast")?.url == "http://127.0.0.1:8080")
        #expect(spec.archive(named: "mast")?.tokenEnv == "MAST_API_TOKEN")
        #expect(spec.archive(named: "eso")?.tokenEnv == "ESO_TOKEN")
    }
}

@Suite struct WhereValueKindTests {
    @Test(arguments: [
        ("true", true, WhereValueKind.boolean), ("False", true, .boolean), ("42", true, .number), ("-1.5e3", true, .number), (".5", true, .number),
        ("616254", false, .text), ("true", false, .text), ("0x1F", true, .text), ("1.2.3", true, .text), ("yes", true, .text), ("", true, .text),
    ])
    func aValueIsTextUnlessWrittenPlainlyAsABooleanOrNumber(text: String, plain: Bool, kind: WhereValueKind) {
        #expect(WhereValueKind.of(text, plain: plain) == kind)
    }
}
