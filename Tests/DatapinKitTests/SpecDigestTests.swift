import DatapinKit
import Testing

/// A spec written another way, and whether its meaning (and so its digest) must stay the same.
struct SpecVariant: Sendable, CustomTestStringConvertible {
    var name: String
    var lines: [String]

    init(_ name: String, _ lines: [String]) {
        self.name = name
        self.lines = lines
    }

    var testDescription: String { name }
}

@Suite struct SpecDigestTests {
    static let base = [
        "version: 1",
        "destination: data",
        "layout: nested",
        "duplicates: once",
        "manifest: true",
        "archives:",
        "  mast:",
        "    token_env: MAST_API_TOKEN",
        "  lab:",
        "    type: index",
        "    url: ./archive/catalog.json",
        "select:",
        "  levels: [2b, 3]",
        "  suffixes: [_cal, _x1dints]",
        "  extensions: [.fits]",
        "  types: [science, preview]",
        "  match: [nis]",
        "  include: ['seg00[1-3]', 'nis']",
        "  access: [public]",
        "  max_size: 2 GB",
        "datasets:",
        "  - archive: mast",
        "    mission: jwst",
        "    ids: [jw02734001001_02101_00001]",
        "  - archive: mast",
        "    mission: jwst",
        "    where: {program: \"02734\", instrument_name: NIRISS}",
        "  - archive: lab",
        "    ids: [ds001]",
        "    select: {levels: [\"3\"]}",
    ]

    static let sameMeaning: [SpecVariant] = [
        SpecVariant("comments and blank lines", [
            "# my selection",
            "version: 1   # always 1",
            "",
            "destination: data",
            "layout: nested",
            "duplicates: once",
            "manifest: true",
            "archives:",
            "  mast:",
            "    token_env: MAST_API_TOKEN",
            "  lab:",
            "    type: index",
            "    url: ./archive/catalog.json",
            "",
            "select:   # defaults",
            "  levels: [2b, 3]",
            "  suffixes: [_cal, _x1dints]",
            "  extensions: [.fits]",
            "  types: [science, preview]",
            "  match: [nis]",
            "  include: ['seg00[1-3]', 'nis']",
            "  access: [public]",
            "  max_size: 2 GB",
            "datasets:",
            "  # the one exposure",
            "  - archive: mast",
            "    mission: jwst",
            "    ids: [jw02734001001_02101_00001]",
            "  - archive: mast",
            "    mission: jwst",
            "    where: {program: \"02734\", instrument_name: NIRISS}",
            "  - archive: lab",
            "    ids: [ds001]",
            "    select: {levels: [\"3\"]}",
        ]),
        SpecVariant("key order everywhere, block style and quoting", [
            "datasets:",
            "  - mission: jwst",
            "    ids:",
            "      - \"jw02734001001_02101_00001\"",
            "    archive: mast",
            "  - where:",
            "      instrument_name: \"NIRISS\"",
            "      program: \"02734\"",
            "    archive: 'mast'",
            "    mission: jwst",
            "  - select:",
            "      levels: ['3']",
            "    ids: [\"ds001\"]",
            "    archive: lab",
            "select:",
            "  max_size: \"2 GB\"",
            "  access: [\"public\"]",
            "  include: [\"seg00[1-3]\", \"nis\"]",
            "  match: [\"nis\"]",
            "  types: [\"science\", \"preview\"]",
            "  extensions: [\".fits\"]",
            "  suffixes: [\"_cal\", \"_x1dints\"]",
            "  levels: [\"2b\", \"3\"]",
            "archives:",
            "  lab:",
            "    url: \"./archive/catalog.json\"",
            "    type: index",
            "  mast: {token_env: MAST_API_TOKEN}",
            "manifest: true",
            "duplicates: once",
            "layout: nested",
            "destination: data",
            "version: 1",
        ]),
        SpecVariant("cal versus _cal, case, value order and repeats", [
            "version: 1",
            "layout: NESTED",
            "duplicates: Once",
            "archives:",
            "  mast:",
            "    token_env: MAST_API_TOKEN",
            "  lab:",
            "    type: INDEX",
            "    url: ./archive/catalog.json",
            "select:",
            "  levels: [3, 2B, 3]",
            "  suffixes: [X1DINTS, cal, _CAL]",
            "  extensions: [FITS]",
            "  types: [Preview, science]",
            "  match: [NIS]",
            "  include: ['nis', 'seg00[1-3]']",
            "  access: [public, public]",
            "  max_size: 2000000000",
            "datasets:",
            "  - archive: mast",
            "    mission: JWST",
            "    ids: [jw02734001001_02101_00001]",
            "  - archive: mast",
            "    mission: jwst",
            "    where: {program: \"02734\", instrument_name: [NIRISS]}",
            "  - archive: lab",
            "    ids: [ds001]",
            "    select: {levels: [\"3\"]}",
        ]),
        SpecVariant("destination, manifest and credential variable differ", [
            "version: 1",
            "destination: /scratch/elsewhere",
            "manifest: false",
            "archives:",
            "  mast:",
            "    token_env: OTHER_MAST_TOKEN",
            "  lab:",
            "    type: index",
            "    url: ./archive/catalog.json",
        ] + Array(base[11...])),
        SpecVariant("defaults written out and switches false", [
            "version: 1",
            "archives:",
            "  lab:",
            "    type: index",
            "    url: ./archive/catalog.json",
            "  eso:",
            "    token_env: ESO_TOKEN",
        ] + Array(base[11..<20]) + [
            "  recommended: false",
            "  guidestar: no",
            "  calibration_references: off",
        ] + Array(base[20...])),
        SpecVariant("filters repeated in the entries instead of the top level", [
            "version: 1",
            "archives:",
            "  lab:",
            "    type: index",
            "    url: ./archive/catalog.json",
            "select:",
            "  levels: [2b, 3]",
            "  suffixes: [_cal, _x1dints]",
            "  extensions: [.fits]",
            "  types: [science, preview]",
            "  match: [nis]",
            "  include: ['seg00[1-3]', 'nis']",
            "  access: [public]",
            "datasets:",
            "  - archive: mast",
            "    mission: jwst",
            "    ids: [jw02734001001_02101_00001]",
            "    select: {max_size: 2 GB}",
            "  - archive: mast",
            "    mission: jwst",
            "    where: {program: \"02734\", instrument_name: NIRISS}",
            "    select: {max_size: 2000 MB}",
            "  - archive: lab",
            "    ids: [ds001]",
            "    select: {levels: [\"3\"], max_size: 2 GB}",
        ]),
    ]

    static let differentMeaning: [SpecVariant] = [
        SpecVariant("another id", replacing("    ids: [jw02734001001_02101_00001]", with: "    ids: [jw02734001001_02101_00002]")),
        SpecVariant("one more id", replacing("    ids: [jw02734001001_02101_00001]", with: "    ids: [jw02734001001_02101_00001, jw02734001001_02101_00002]")),
        SpecVariant("another mission", replacing("    ids: [jw02734001001_02101_00001]", with: "    ids: [jw02734001001_02101_00001]", missionTo: "hst")),
        SpecVariant("another where value", replacing("    where: {program: \"02734\", instrument_name: NIRISS}", with: "    where: {program: \"02734\", instrument_name: NIRCAM}")),
        SpecVariant("a where value written as a number, not text", replacing("    where: {program: \"02734\", instrument_name: NIRISS}", with: "    where: {program: 02734, instrument_name: NIRISS}")),
        SpecVariant("one more suffix", replacing("  suffixes: [_cal, _x1dints]", with: "  suffixes: [_cal, _x1dints, _rate]")),
        SpecVariant("one level less", replacing("  levels: [2b, 3]", with: "  levels: [3]")),
        SpecVariant("another extension", replacing("  extensions: [.fits]", with: "  extensions: [.fits, .asdf]")),
        SpecVariant("another type", replacing("  types: [science, preview]", with: "  types: [science]")),
        SpecVariant("another match", replacing("  match: [nis]", with: "  match: [nrc]")),
        SpecVariant("another include", replacing("  include: ['seg00[1-3]', 'nis']", with: "  include: ['seg00[1-4]', 'nis']")),
        SpecVariant("an exclude", replacing("  access: [public]", with: "  access: [public]\n  exclude: ['_rateints']")),
        SpecVariant("exclusive access too", replacing("  access: [public]", with: "  access: [public, exclusive]")),
        SpecVariant("a smaller max size", replacing("  max_size: 2 GB", with: "  max_size: 2 GiB")),
        SpecVariant("recommended only", replacing("  max_size: 2 GB", with: "  max_size: 2 GB\n  recommended: true")),
        SpecVariant("guide stars too", replacing("  max_size: 2 GB", with: "  max_size: 2 GB\n  guidestar: true")),
        SpecVariant("calibration references too", replacing("  max_size: 2 GB", with: "  max_size: 2 GB\n  calibration_references: true")),
        SpecVariant("entry override changed", replacing("    select: {levels: [\"3\"]}", with: "    select: {levels: [\"2b\"]}")),
        SpecVariant("entry override removed", replacing("    select: {levels: [\"3\"]}", with: "")),
        SpecVariant("flat layout", replacing("layout: nested", with: "layout: flat")),
        SpecVariant("template layout", replacing("layout: nested", with: "layout: \"{dataset}/{level}/{filename}\"")),
        SpecVariant("link duplicates", replacing("duplicates: once", with: "duplicates: link")),
        SpecVariant("another catalog", replacing("    url: ./archive/catalog.json", with: "    url: ./archive/other.json")),
        SpecVariant("a mirror for mast", replacing("    token_env: MAST_API_TOKEN", with: "    token_env: MAST_API_TOKEN\n    url: https://mirror.example.org")),
        SpecVariant("entries in another order", Array(base[..<21]) + Array(base[24...26]) + Array(base[21...23]) + Array(base[27...])),
        SpecVariant("an entry less", Array(base[..<27])),
    ]

    static func replacing(_ line: String, with replacement: String, missionTo mission: String? = nil) -> [String] {
        var lines = base
        let index = lines.firstIndex(of: line)!
        lines[index] = replacement
        if let mission { lines[index - 1] = "    mission: \(mission)" }
        return lines.joined(separator: "\n").split(separator: "\n").map(String.init)
    }

    static func digest(_ lines: [String]) throws -> String {
        try SpecSamples.load(SpecSamples.text(lines)).spec.meaningDigest
    }

    @Test func isSHA256OfTheMeaning() throws {
        let digest = try Self.digest(Self.base)
        #expect(digest.hasPrefix("sha256:"))
        #expect(digest.count == 7 + 64)
        #expect(digest.dropFirst(7).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(try Self.digest(Self.base) == digest)
    }

    @Test(arguments: sameMeaning)
    func writingStyleDoesNotChangeIt(_ variant: SpecVariant) throws {
        #expect(try Self.digest(variant.lines) == Self.digest(Self.base))
    }

    @Test(arguments: differentMeaning)
    func aSelectionChangeChangesIt(_ variant: SpecVariant) throws {
        #expect(variant.lines != Self.base)
        #expect(try Self.digest(variant.lines) != Self.digest(Self.base))
    }

    @Test func orderOfWhereConditionsAndOfTheirValuesDoesNotChangeIt() throws {
        let written = Self.replacing("    where: {program: \"02734\", instrument_name: NIRISS}", with: "    where: {program: [\"02734\", \"01234\"], instrument_name: NIRISS}")
        let reordered = Self.replacing("    where: {program: \"02734\", instrument_name: NIRISS}", with: "    where: {instrument_name: NIRISS, program: [\"01234\", \"02734\"]}")
        #expect(try Self.digest(written) == Self.digest(reordered))
        #expect(try Self.digest(written) != Self.digest(Self.base))
    }

    @Test func archivesNoEntryUsesDoNotCountButTheirTypeAndURLDoWhenUsed() throws {
        let unused = Self.base.prefix(11) + ["  ess:", "    type: scicat", "    url: https://scicat.example.org/api/v3"] + Self.base.dropFirst(11)
        #expect(try Self.digest(Array(unused)) == Self.digest(Self.base))
    }

    @Test func aDigestComputedInCodeMatchesTheLoadedOne() throws {
        let spec = Spec(
            file: "other.yaml",
            destination: "elsewhere",
            manifest: false,
            archives: ArchiveRegistry.builtInArchives,
            select: SelectFilters(suffixes: ["_cal"]),
            datasets: [DatasetEntry(index: 0, archive: "mast", obsids: ["87621090"])]
        )
        let loaded = try SpecSamples.load(SpecSamples.text(["version: 1", "select: {suffixes: CAL}", "datasets: [{archive: mast, obsids: [87621090]}]"])).spec
        #expect(spec.meaningDigest == loaded.meaningDigest)
    }
}
