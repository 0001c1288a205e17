import DatapinKit
import Testing

/// One override table row: top-level filters, an entry's own `select`, and what the entry keeps
/// out of `SelectionSamples.all`.
struct OverrideCase: Sendable, CustomTestStringConvertible {
    var name: String
    var top: SelectFilters
    var entry: SelectFilters?
    var kept: [Product]
    var testDescription: String { name }
}

/// One `SelectFilters.overridden(by:)` row: an override setting one key and the merged result.
struct MergeCase: Sendable, CustomTestStringConvertible {
    var key: String
    var override: SelectFilters
    var merged: SelectFilters
    var testDescription: String { key }
}

@Suite struct SelectionAssemblerTests {
    typealias S = SelectionSamples

    // MARK: Helpers

    static func entry(_ index: Int, archive: String = "mast", select: SelectFilters? = nil, line: Int? = nil) -> DatasetEntry {
        DatasetEntry(index: index, archive: archive, select: select, location: line.map { SourceLocation(file: "datapin.yaml", line: $0, column: 5) })
    }

    /// `product` as another dataset lists it: same file (same identity), other dataset.
    static func listed(_ product: Product, by dataset: String) -> Product {
        var copy = product
        copy.dataset = dataset
        return copy
    }

    static func load(_ yaml: String) throws -> LoadedSpec {
        do {
            return try SpecLoader.load(text: yaml, file: "datapin.yaml", grammar: ArchiveRegistry.grammar)
        } catch {
            Issue.record("spec did not load: \(error.diagnostics.map { $0.rendered() })")
            throw error
        }
    }

    /// Assembles a loaded spec, giving its i-th dataset entry the i-th product list.
    static func assemble(_ loaded: LoadedSpec, _ products: [[Product]]) throws(DiagnosticList) -> [LockEntry] {
        let groups = zip(loaded.spec.datasets, products).map { (entry: $0, products: $1) }
        return try SelectionAssembler.assemble(groups, spec: loaded.spec, source: loaded.source)
    }

    static func assemble(_ spec: Spec, _ products: [[Product]]) throws(DiagnosticList) -> [LockEntry] {
        let groups = zip(spec.datasets, products).map { (entry: $0, products: $1) }
        return try SelectionAssembler.assemble(groups, spec: spec, source: nil)
    }

    static func indexSpec(layout: String = "nested", duplicates: String = "once", entries: [String]) -> String {
        """
        version: 1
        layout: \(layout)
        duplicates: \(duplicates)
        archives:
          lab:
            type: index
            url: ./catalog.json
        datasets:

        """ + entries.map { "  - archive: lab\n    ids: [\($0)]\n" }.joined()
    }

    // MARK: Overrides

    static let overrides: [OverrideCase] = [
        OverrideCase(name: "no entry select: the top level applies", top: SelectFilters(levels: ["2b"]), entry: nil,
                     kept: [S.cal, S.x1dints, S.exclusiveCal, S.preview]),
        OverrideCase(name: "an empty entry select changes nothing", top: SelectFilters(levels: ["2b"]), entry: SelectFilters(),
                     kept: [S.cal, S.x1dints, S.exclusiveCal, S.preview]),
        OverrideCase(name: "entry levels replace the top levels", top: SelectFilters(levels: ["2b"]), entry: SelectFilters(levels: ["3"]),
                     kept: [S.level3Spectrum, S.association]),
        OverrideCase(name: "keys the entry leaves out stay", top: SelectFilters(levels: ["2b"], suffixes: ["_cal"]), entry: SelectFilters(suffixes: ["_x1dints"]),
                     kept: [S.x1dints]),
        OverrideCase(name: "entry extensions replace the top ones", top: SelectFilters(extensions: [".fits"]), entry: SelectFilters(extensions: [".json"]),
                     kept: [S.association]),
        OverrideCase(name: "entry types replace the top ones", top: SelectFilters(types: [.science]), entry: SelectFilters(types: [.preview]),
                     kept: [S.preview]),
        OverrideCase(name: "entry match replaces the top one", top: SelectFilters(match: ["fgs"]), entry: SelectFilters(match: ["gr700"]),
                     kept: S.byDefault),
        OverrideCase(name: "entry include replaces the top one, the top exclude stays",
                     top: SelectFilters(include: [FilePattern("seg001")], exclude: [FilePattern("_rateints")]), entry: SelectFilters(include: [FilePattern("_nis_")]),
                     kept: [S.uncal, S.rate, S.cal, S.x1dints, S.exclusiveCal, S.preview]),
        OverrideCase(name: "entry exclude replaces the top one", top: SelectFilters(exclude: [FilePattern("_rateints")]), entry: SelectFilters(exclude: [FilePattern("\\.jpg$")]),
                     kept: S.byDefault.filter { $0 != S.preview }),
        OverrideCase(name: "entry recommended false undoes the top true", top: SelectFilters(recommended: true), entry: SelectFilters(recommended: false),
                     kept: S.byDefault),
        OverrideCase(name: "entry recommended true", top: SelectFilters(), entry: SelectFilters(recommended: true),
                     kept: [S.cal, S.x1dints, S.level3Spectrum]),
        OverrideCase(name: "entry guidestar true brings guide stars in", top: SelectFilters(), entry: SelectFilters(guidestar: true),
                     kept: S.byDefault + [S.guideStar]),
        OverrideCase(name: "entry guidestar false undoes the top true", top: SelectFilters(guidestar: true), entry: SelectFilters(guidestar: false),
                     kept: S.byDefault),
        OverrideCase(name: "top guidestar true stays when the entry sets other keys", top: SelectFilters(guidestar: true), entry: SelectFilters(types: [.science]),
                     kept: [S.uncal, S.rate, S.rateints, S.cal, S.x1dints, S.exclusiveCal, S.guideStar, S.level3Spectrum]),
        OverrideCase(name: "entry calibration_references true brings reference files in", top: SelectFilters(), entry: SelectFilters(calibrationReferences: true),
                     kept: S.byDefault + [S.flatReference]),
        OverrideCase(name: "entry calibration_references false undoes the top true", top: SelectFilters(calibrationReferences: true),
                     entry: SelectFilters(calibrationReferences: false), kept: S.byDefault),
        OverrideCase(name: "top access stays when the entry sets other keys", top: SelectFilters(access: [.public]), entry: SelectFilters(suffixes: ["_cal"]),
                     kept: [S.cal, S.preview]),
        OverrideCase(name: "entry access widens the top access", top: SelectFilters(access: [.public]), entry: SelectFilters(access: [.public, .exclusive]),
                     kept: S.byDefault),
        OverrideCase(name: "entry max_size replaces the top one", top: SelectFilters(maxSize: 10_000_000), entry: SelectFilters(maxSize: 500_000_000),
                     kept: S.byDefault),
        OverrideCase(name: "top max_size stays when the entry sets other keys", top: SelectFilters(maxSize: 10_000_000), entry: SelectFilters(levels: ["1b", "3"]),
                     kept: [S.level3Spectrum, S.association]),
    ]

    @Test(arguments: overrides)
    func entrySelectOverridesTopLevelKeyByKey(_ example: OverrideCase) throws {
        let spec = Spec(file: "datapin.yaml", select: example.top, datasets: [Self.entry(0, select: example.entry)])
        let entries = try Self.assemble(spec, [S.all])
        #expect(Set(entries.map(\.uri)) == Set(example.kept.map(\.uri)))
        #expect(entries.count == example.kept.count)
    }

    static let base = SelectFilters(levels: ["2b"], suffixes: ["_cal"], extensions: [".fits"], types: [.science], match: ["nis"],
                                    include: [FilePattern("seg")], exclude: [FilePattern("_rateints")], recommended: true, guidestar: false,
                                    calibrationReferences: false, access: [.public], maxSize: 1_000)

    static func merged(_ change: (inout SelectFilters) -> Void) -> SelectFilters {
        var filters = base
        change(&filters)
        return filters
    }

    static let merges: [MergeCase] = [
        MergeCase(key: "levels", override: SelectFilters(levels: ["3"]), merged: merged { $0.levels = ["3"] }),
        MergeCase(key: "suffixes", override: SelectFilters(suffixes: ["_x1d"]), merged: merged { $0.suffixes = ["_x1d"] }),
        MergeCase(key: "extensions", override: SelectFilters(extensions: [".json"]), merged: merged { $0.extensions = [".json"] }),
        MergeCase(key: "types", override: SelectFilters(types: [.preview]), merged: merged { $0.types = [.preview] }),
        MergeCase(key: "match", override: SelectFilters(match: ["nrc"]), merged: merged { $0.match = ["nrc"] }),
        MergeCase(key: "include", override: SelectFilters(include: [FilePattern("x")]), merged: merged { $0.include = [FilePattern("x")] }),
        MergeCase(key: "exclude", override: SelectFilters(exclude: [FilePattern("y")]), merged: merged { $0.exclude = [FilePattern("y")] }),
        MergeCase(key: "recommended", override: SelectFilters(recommended: false), merged: merged { $0.recommended = false }),
        MergeCase(key: "guidestar", override: SelectFilters(guidestar: true), merged: merged { $0.guidestar = true }),
        MergeCase(key: "calibration_references", override: SelectFilters(calibrationReferences: true), merged: merged { $0.calibrationReferences = true }),
        MergeCase(key: "access", override: SelectFilters(access: [.exclusive]), merged: merged { $0.access = [.exclusive] }),
        MergeCase(key: "max_size", override: SelectFilters(maxSize: 5), merged: merged { $0.maxSize = 5 }),
        MergeCase(key: "none", override: SelectFilters(), merged: base),
        MergeCase(key: "levels and guidestar", override: SelectFilters(levels: [], guidestar: true), merged: merged { $0.levels = []; $0.guidestar = true }),
    ]

    @Test(arguments: merges)
    func overriddenReplacesOnlyTheKeysTheOverrideSets(_ example: MergeCase) {
        #expect(Self.base.overridden(by: example.override) == example.merged)
        #expect(Self.base.overridden(by: nil) == Self.base)
    }

    /// Through the YAML: each entry applies the top level overridden by its own `select`, and
    /// one entry's override does not leak into another.
    @Test func overridesFromTheSpecFileApplyPerEntry() throws {
        let loaded = try Self.load("""
            version: 1
            select:
              levels: [2b]
              suffixes: [cal]
            datasets:
              - archive: mast
                mission: jwst
                ids: [\(S.exposure)]
              - archive: mast
                mission: jwst
                ids: [\(S.level3)]
                select: {levels: ["3"], suffixes: [x1dints, asn]}
              - archive: mast
                mission: jwst
                ids: [\(S.exposure)]
                select: {access: [public]}
            """)
        let exposureFiles = S.all.filter { $0.dataset == S.exposure }
        let level3Files = S.all.filter { $0.dataset == S.level3 }
        let entries = try Self.assemble(loaded, [exposureFiles, level3Files, exposureFiles])
        #expect(Set(entries.map(\.uri)) == Set([S.cal, S.exclusiveCal, S.preview, S.association, S.level3Spectrum].map(\.uri)))
        #expect(entries.count == 5)
        #expect(entries.allSatisfy { $0.also.isEmpty && $0.alsoPaths.isEmpty })
    }

    // MARK: Lock entries

    @Test func lockEntriesCarryTheProductAndAreSortedByPath() throws {
        let spec = Spec(file: "datapin.yaml", datasets: [Self.entry(0)])
        let entries = try Self.assemble(spec, [[S.level3Spectrum, S.cal, S.association, S.rate]])
        #expect(entries.map(\.path) == entries.map(\.path).sorted())
        #expect(entries.map(\.path) == [
            "\(S.exposure)/\(S.rate.filename)", "\(S.exposure)/\(S.cal.filename)",
            "\(S.level3)/\(S.association.filename)", "\(S.level3)/\(S.level3Spectrum.filename)",
        ].sorted())
        let cal = try #require(entries.first { $0.uri == S.cal.uri })
        #expect(cal == LockEntry(path: "\(S.exposure)/\(S.cal.filename)", archive: "mast", dataset: S.exposure, uri: S.cal.uri, url: S.cal.url,
                                 size: S.cal.size, level: "2b", suffix: "_cal", type: .science, access: .public, instrument: "NIRISS", filters: "CLEAR;GR700XD"))
        let association = try #require(entries.first { $0.uri == S.association.uri })
        #expect(association.suffix == "_asn", "a suffix the archive does not give is taken from the file name")
        #expect(association.size == nil)
    }

    // MARK: Duplicates

    @Test(arguments: [(DuplicatePolicy.once, [String]()), (.link, ["alpha/f.fits", "mid/f.fits"]), (.copy, ["alpha/f.fits", "mid/f.fits"])])
    func firstDatasetInSpecOrderOwnsASharedFile(_ policy: DuplicatePolicy, _ alsoPaths: [String]) throws {
        let shared = S.index("f.fits", dataset: "zeta", url: "https://lab.example.org/pool/f.fits")
        let spec = Spec(file: "datapin.yaml", duplicates: policy, datasets: [Self.entry(0, archive: "lab"), Self.entry(1, archive: "lab"), Self.entry(2, archive: "lab")])
        let entries = try Self.assemble(spec, [[shared], [Self.listed(shared, by: "alpha")], [Self.listed(shared, by: "mid")]])
        let file = try #require(entries.only)
        #expect(file.path == "zeta/f.fits")
        #expect(file.dataset == "zeta")
        #expect(file.also == ["alpha", "mid"])
        #expect(file.alsoPaths == alsoPaths)
    }

    @Test func specOrderNotDatasetNameDecidesTheOwner() throws {
        let inLevel3 = S.association
        let inExposure = Self.listed(S.association, by: S.exposure)
        let spec = Spec(file: "datapin.yaml", datasets: [Self.entry(0), Self.entry(1)])
        let exposureFirst = try #require(try Self.assemble(spec, [[inExposure], [inLevel3]]).only)
        let level3First = try #require(try Self.assemble(spec, [[inLevel3], [inExposure]]).only)
        #expect(exposureFirst.path == "\(S.exposure)/\(S.association.filename)")
        #expect(exposureFirst.also == [S.level3])
        #expect(level3First.path == "\(S.level3)/\(S.association.filename)")
        #expect(level3First.also == [S.exposure])
    }

    /// `product` as its own dataset lists it (`ownedByDataset`), or as another dataset does.
    static func owned(_ product: Product, _ owned: Bool = true, by dataset: String? = nil) -> Product {
        var copy = product
        copy.ownedByDataset = owned
        if let dataset { copy.dataset = dataset }
        return copy
    }

    @Test(arguments: [(DuplicatePolicy.once, [String]()), (.link, ["\(S.level3)/\(S.cal.filename)"])])
    func theDatasetThatOwnsAFileTakesItWhateverTheSpecOrder(_ policy: DuplicatePolicy, _ alsoPaths: [String]) throws {
        let inLevel3 = Self.owned(S.cal, false, by: S.level3)
        let own = Self.owned(S.cal)
        let spec = Spec(file: "datapin.yaml", duplicates: policy, datasets: [Self.entry(0), Self.entry(1)])
        for groups in [[[inLevel3], [own]], [[own], [inLevel3]], [[inLevel3, own], []]] {
            let file = try #require(try Self.assemble(spec, groups).only)
            #expect(file.path == "\(S.exposure)/\(S.cal.filename)")
            #expect(file.dataset == S.exposure)
            #expect(file.also == [S.level3])
            #expect(file.alsoPaths == alsoPaths)
        }
    }

    @Test func amongOwnersAndAmongTheRestSpecOrderDecides() throws {
        let spec = Spec(file: "datapin.yaml", datasets: [Self.entry(0), Self.entry(1), Self.entry(2)])
        let first = try #require(try Self.assemble(spec, [[Self.owned(S.cal, false, by: "a")], [Self.owned(S.cal, by: "b")], [Self.owned(S.cal, by: "c")]]).only)
        #expect(first.dataset == "b" && first.also == ["a", "c"])
        let none = try #require(try Self.assemble(spec, [[Self.owned(S.cal, false, by: "a")], [Self.owned(S.cal, false, by: "b")], [Self.owned(S.cal, false, by: "c")]]).only)
        #expect(none.dataset == "a" && none.also == ["b", "c"])
    }

    @Test func anOwnerTheEntrysSelectDropsLeavesTheFileToTheOthers() throws {
        let spec = Spec(file: "datapin.yaml", datasets: [Self.entry(0), Self.entry(1, select: SelectFilters(levels: ["3"]))])
        let file = try #require(try Self.assemble(spec, [[Self.owned(S.cal, false, by: S.level3)], [Self.owned(S.cal)]]).only)
        #expect(file.dataset == S.level3 && file.also.isEmpty)
    }

    @Test func anOwnerWhosePathIsTakenLeavesTheFileToTheNextListing() throws {
        let other = Product(archive: "mast", dataset: S.exposure, filename: S.cal.filename, uri: "mast:JWST/product/other", url: "https://mast.example.org/other")
        let spec = Spec(file: "datapin.yaml", datasets: [Self.entry(0), Self.entry(1), Self.entry(2)])
        do {
            _ = try Self.assemble(spec, [[other], [Self.owned(S.cal, false, by: S.level3)], [Self.owned(S.cal)]])
            Issue.record("two files at one path must be an error")
        } catch {
            #expect(error.diagnostics.count == 1)
            #expect(error.diagnostics.first?.message.contains("two different files would be placed at '\(S.exposure)/\(S.cal.filename)'") == true)
        }
    }

    @Test(arguments: DuplicatePolicy.allCases)
    func aSharedFileAtOnePathInAFlatLayoutIsPlacedOnce(_ policy: DuplicatePolicy) throws {
        let spec = Spec(file: "datapin.yaml", layout: .flat, duplicates: policy, datasets: [Self.entry(0), Self.entry(1)])
        let entries = try Self.assemble(spec, [[S.cal, S.association], [Self.listed(S.association, by: S.exposure)]])
        #expect(entries.map(\.path) == [S.association.filename, S.cal.filename])
        #expect(entries[0].dataset == S.level3)
        #expect(entries[0].also == [S.exposure])
        #expect(entries[0].alsoPaths.isEmpty)
    }

    @Test func aFileListedTwiceByOneDatasetIsOneFileWithNoAlso() throws {
        let spec = Spec(file: "datapin.yaml", duplicates: .link, datasets: [Self.entry(0), Self.entry(1)])
        let entries = try Self.assemble(spec, [[S.cal, S.cal], [S.cal]])
        let file = try #require(entries.only)
        #expect(file.also.isEmpty)
        #expect(file.alsoPaths.isEmpty)
    }

    @Test func aListingTheEntrysSelectDropsIsNotADuplicate() throws {
        let spec = Spec(file: "datapin.yaml", duplicates: .link, datasets: [Self.entry(0), Self.entry(1, select: SelectFilters(types: [.science]))])
        let entries = try Self.assemble(spec, [[S.association], [Self.listed(S.association, by: S.exposure)]])
        let file = try #require(entries.only)
        #expect(file.also.isEmpty)
        #expect(file.alsoPaths.isEmpty)
    }

    /// For an index archive the resolved URL is the identity: the same URL under two names is one
    /// file; the same name at two URLs is two files.
    @Test func identityDecidesSameness() throws {
        let loaded = try Self.load(Self.indexSpec(duplicates: "link", entries: ["ds1", "ds2"]))
        let first = S.index("a.fits", dataset: "ds1", url: "https://lab.example.org/pool/a.fits")
        let sameURLOtherName = S.index("renamed.fits", dataset: "ds2", url: "https://lab.example.org/pool/a.fits")
        let sameNameOtherURL = S.index("b.fits", dataset: "ds1")
        let otherSameName = S.index("b.fits", dataset: "ds2")
        let entries = try Self.assemble(loaded, [[first, sameNameOtherURL], [sameURLOtherName, otherSameName]])
        #expect(entries.map(\.path) == ["ds1/a.fits", "ds1/b.fits", "ds2/b.fits"])
        #expect(entries[0].also == ["ds2"])
        #expect(entries[0].alsoPaths == ["ds2/renamed.fits"])
        #expect(entries[1].url != entries[2].url)
        #expect(entries[1].also.isEmpty && entries[2].also.isEmpty)
    }

    @Test func sameURIButAnotherIdentityIsAnotherFile() throws {
        let spec = Spec(file: "datapin.yaml", layout: .flat, datasets: [Self.entry(0, archive: "lab"), Self.entry(1, archive: "lab")])
        var mirrored = S.index("a.fits", dataset: "ds2", url: "https://mirror.example.org/a.fits")
        mirrored.uri = "lab:ds1/a.fits"
        let error = #expect(throws: DiagnosticList.self) {
            try Self.assemble(spec, [[S.index("a.fits", dataset: "ds1")], [mirrored]])
        }
        #expect(error?.diagnostics.count == 1)
    }

    // MARK: Collisions

    @Test func flatLayoutCollisionNamesBothFilesAtTheLayout() throws {
        let loaded = try Self.load(Self.indexSpec(layout: "flat", entries: ["ds1", "ds2"]))
        let one = S.index("readme.txt", dataset: "ds1"), other = S.index("readme.txt", dataset: "ds2")
        let error = try #require(#expect(throws: DiagnosticList.self) { try Self.assemble(loaded, [[one], [other]]) })
        let diagnostic = try #require(error.diagnostics.only)
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.location == SourceLocation(file: "datapin.yaml", line: 2, column: 9))
        #expect(diagnostic.location == loaded.spec.layoutLocation)
        #expect(diagnostic.excerpt == "layout: flat")
        for part in ["'readme.txt'", "'lab:ds1/readme.txt'", "'lab:ds2/readme.txt'", "'ds1'", "'ds2'"] {
            #expect(diagnostic.message.contains(part), "\(diagnostic.message)")
        }
        #expect(diagnostic.notes.contains { $0.contains("nested") })
        #expect(diagnostic.rendered().hasPrefix("datapin.yaml:2:9: error: two different files"))
    }

    @Test func nestedCollisionFromSlashInDatasetPointsAtTheSecondEntry() throws {
        let loaded = try Self.load("""
            version: 1
            archives:
              lab: {type: index, url: ./catalog.json}
            datasets:
              - archive: lab
                ids: ["a/b"]
              - archive: lab
                ids: [a_b]
            """)
        let error = try #require(#expect(throws: DiagnosticList.self) {
            try Self.assemble(loaded, [[S.index("f.h5", dataset: "a/b")], [S.index("f.h5", dataset: "a_b")]])
        })
        let diagnostic = try #require(error.diagnostics.only)
        #expect(loaded.spec.layoutLocation == nil)
        #expect(diagnostic.location == loaded.spec.datasets[1].location)
        #expect(diagnostic.location?.line == 7)
        #expect(diagnostic.message.contains("'a_b/f.h5'"))
        #expect(diagnostic.message.contains("'lab:a/b/f.h5'") && diagnostic.message.contains("'lab:a_b/f.h5'"))
        #expect(diagnostic.notes.contains { $0.contains("'/'") })
    }

    @Test(arguments: [["raw", "raw/x.h5"], ["raw/x.h5", "raw"], ["a/b/c.fits", "a/b"], ["a", "a/b/c/d.fits"]])
    func aFileCannotTakeTheNameOfAnotherFilesFolder(names: [String]) throws {
        let loaded = try Self.load(Self.indexSpec(layout: "flat", entries: ["ds1"]))
        let products = names.map { S.index($0, dataset: "ds1") }
        let error = try #require(#expect(throws: DiagnosticList.self) { try Self.assemble(loaded, [products]) })
        let diagnostic = try #require(error.diagnostics.only)
        #expect(diagnostic.message.contains("'\(names[1])'") && diagnostic.message.contains("'\(names[0])'"), "\(diagnostic.message)")
        #expect(diagnostic.location == loaded.spec.layoutLocation)
    }

    @Test func siblingsThatShareAPrefixDoNotConflict() throws {
        let loaded = try Self.load(Self.indexSpec(layout: "flat", entries: ["ds1"]))
        let entries = try Self.assemble(loaded, [["raw", "raw.h5", "rawdata/x.h5", "raw_/y"].map { S.index($0, dataset: "ds1") }])
        #expect(entries.map(\.path) == ["raw", "raw.h5", "raw_/y", "rawdata/x.h5"])
    }

    @Test func templateWithoutDatasetCollidesAcrossDatasets() throws {
        let loaded = try Self.load(Self.indexSpec(layout: "'{archive}/{filename}'", entries: ["ds1", "ds2"]))
        let error = try #require(#expect(throws: DiagnosticList.self) {
            try Self.assemble(loaded, [[S.index("x.fits", dataset: "ds1")], [S.index("x.fits", dataset: "ds2")]])
        })
        let diagnostic = try #require(error.diagnostics.only)
        #expect(diagnostic.location == loaded.spec.layoutLocation)
        #expect(diagnostic.message.contains("'lab/x.fits'"))
    }

    @Test func aLinkedPlaceTakenByAnotherFileIsACollision() throws {
        let loaded = try Self.load(Self.indexSpec(duplicates: "link", entries: ["ds1", "ds2"]))
        let shared = S.index("f.fits", dataset: "ds1", url: "https://lab.example.org/pool/f.fits")
        let ownToDs2 = S.index("f.fits", dataset: "ds2")
        let error = try #require(#expect(throws: DiagnosticList.self) {
            try Self.assemble(loaded, [[shared], [ownToDs2, Self.listed(shared, by: "ds2")]])
        })
        let diagnostic = try #require(error.diagnostics.only)
        #expect(diagnostic.message.contains("'ds2/f.fits'"))
        #expect(diagnostic.message.contains("'lab:ds2/f.fits'") && diagnostic.message.contains("'lab:ds1/f.fits'"))
    }

    @Test func onceNeverPlacesADuplicateSoItsPathCannotCollide() throws {
        let loaded = try Self.load(Self.indexSpec(duplicates: "once", entries: ["ds1", "ds2"]))
        let shared = S.index("f.fits", dataset: "ds1", url: "https://lab.example.org/pool/f.fits")
        let ownToDs2 = S.index("f.fits", dataset: "ds2")
        let entries = try Self.assemble(loaded, [[shared], [ownToDs2, Self.listed(shared, by: "ds2")]])
        #expect(entries.map(\.path) == ["ds1/f.fits", "ds2/f.fits"])
        #expect(entries[0].also == ["ds2"])
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let loaded = try Self.load(Self.indexSpec(layout: "flat", entries: ["ds1", "ds2"]))
        let error = try #require(#expect(throws: DiagnosticList.self) {
            try Self.assemble(loaded, [
                [S.index("a.txt", dataset: "ds1"), S.index("b.txt", dataset: "ds1"), S.index("../up.txt", dataset: "ds1")],
                [S.index("a.txt", dataset: "ds2"), S.index("b.txt", dataset: "ds2"), S.index("/etc/passwd", dataset: "ds2")],
            ])
        })
        #expect(error.diagnostics.count == 4)
        #expect(error.diagnostics.filter { $0.message.hasPrefix("two different files") }.count == 2)
        #expect(error.diagnostics.filter { $0.message.contains("cannot be placed under the destination") }.count == 2)
    }

    // MARK: Path safety

    static let unsafeNames: [(filename: String, shown: String)] = [
        ("../../.ssh/authorized_keys", "../../.ssh/authorized_keys"),
        ("/etc/cron.d/x", "/etc/cron.d/x"),
        ("raw//scan.h5", "raw//scan.h5"),
        ("raw/", "raw/"),
        ("", ""),
        ("a\u{0}.fits", "a\\u{0}.fits"),
        ("a\u{1B}]0;pwned\u{7}.fits", "a\\u{1B}]0;pwned\\u{7}.fits"),
        ("two\nlines.fits", "two\\nlines.fits"),
        ("sub\\..\\..\\x", "sub\\..\\..\\x"),
    ]

    @Test(arguments: unsafeNames, [Layout.nested, .flat, .template("{archive}/{dataset}/{filename}")])
    func archiveNamesThatWouldEscapeAreRefusedAtTheEntry(_ name: (filename: String, shown: String), _ layout: Layout) throws {
        var spec = Spec(file: "datapin.yaml", layout: layout, datasets: [Self.entry(0, archive: "lab", line: 9), Self.entry(1, archive: "lab", line: 11)])
        spec.layoutLocation = SourceLocation(file: "datapin.yaml", line: 2, column: 9)
        let error = try #require(#expect(throws: DiagnosticList.self) {
            try Self.assemble(spec, [[S.index("fine.fits", dataset: "ds1")], [S.index(name.filename, dataset: "ds2")]])
        })
        let diagnostic = try #require(error.diagnostics.only)
        #expect(diagnostic.location?.line == 11, "the entry that listed the file")
        #expect(diagnostic.message.hasPrefix("archive 'lab', dataset 'ds2': file '\(name.shown)' cannot be placed under the destination: "), "\(diagnostic.message)")
        #expect(!diagnostic.message.unicodeScalars.contains { $0.value < 0x20 }, "no raw control character reaches the terminal")
    }

    @Test(arguments: ["..", ".", "", ".datapin"])
    func aHostileDatasetIdCannotLeadOut(_ dataset: String) throws {
        let spec = Spec(file: "datapin.yaml", datasets: [Self.entry(0, archive: "lab")])
        let outcome = Result { () throws(DiagnosticList) in try Self.assemble(spec, [[S.index("f.fits", dataset: dataset)]]) }
        switch outcome {
        case .success(let entries):
            let file = try #require(entries.only)
            #expect(PathSafety.problem(with: file.path) == nil)
            #expect(file.path.hasSuffix("/f.fits") && file.path.split(separator: "/").count == 2)
        case .failure(let error):
            #expect(error.diagnostics.only?.message.contains("cannot be placed under the destination") == true)
        }
    }

    /// Whatever the names, the lock only ever holds paths PathSafety accepts.
    @Test(arguments: [Layout.nested, .flat, .template("{mission}/{dataset}/{level}/{filename}")])
    func everyLockedPathIsSafe(_ layout: Layout) {
        let names = ["ok.fits", "..", "../x", "a/../b", "a/./b", "/x", "x/", "a//b", "a\u{0}", "a\u{9B}b", ".datapin/x", "a\\b", "sub/ok.fits"]
        let datasets = ["ds", "..", "a/b", "", "/"]
        for dataset in datasets {
            for name in names {
                let spec = Spec(file: "datapin.yaml", layout: layout, datasets: [Self.entry(0, archive: "lab")])
                let product = S.index(name, dataset: dataset)
                do {
                    let entries = try Self.assemble(spec, [[product]])
                    for entry in entries {
                        #expect(PathSafety.problem(with: entry.path) == nil, "'\(PathSafety.escaped(entry.path))' was locked")
                    }
                } catch {
                    #expect(!error.diagnostics.isEmpty)
                }
            }
        }
    }

    // MARK: Invalid patterns

    @Test func anInvalidPatternIsAnErrorAtItsLocationNotACrash() throws {
        let patternLocation = SourceLocation(file: "datapin.yaml", line: 14, column: 23)
        let spec = Spec(file: "datapin.yaml", layout: .flat, datasets: [
            Self.entry(0, select: SelectFilters(include: [FilePattern("seg(001", location: patternLocation)])),
            Self.entry(1),
        ])
        let error = try #require(#expect(throws: DiagnosticList.self) {
            try Self.assemble(spec, [[S.cal], [S.cal, S.rate, Self.listed(S.cal, by: "other")]])
        })
        let diagnostic = try #require(error.diagnostics.only)
        #expect(diagnostic.location == patternLocation)
    }
}

fileprivate extension Array {
    /// The only element, or nil when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}
