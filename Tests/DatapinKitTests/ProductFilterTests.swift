import DatapinKit
import Testing

/// Products as MAST lists them for JWST program 02734 (NIRISS SOSS), shared by the selection tests.
enum SelectionSamples {
    static let exposure = "jw02734001001_02101_00001"
    static let level3 = "jw02734-o002_t002_niriss"

    static func mast(_ filename: String, dataset: String = exposure, level: String? = "2b", suffix: String? = nil, type: ProductType? = .science, access: Access = .public, recommended: Bool = false, size: Int64? = 1_000_000, instrument: String? = "NIRISS", filters: String? = "CLEAR;GR700XD") -> Product {
        let uri = "mast:JWST/product/\(filename)"
        return Product(archive: "mast", mission: "jwst", dataset: dataset, filename: filename, uri: uri,
                       url: "https://mast.stsci.edu/search/jwst/api/v0.1/retrieve_product?product_name=\(uri)",
                       size: size, level: level, suffix: suffix, type: type, access: access, recommended: recommended,
                       guidestar: filename.contains("_gs-"), instrument: instrument, filters: filters)
    }

    /// A file of a plain index archive, whose identity is its URL.
    static func index(_ filename: String, dataset: String, url: String? = nil) -> Product {
        let url = url ?? "https://lab.example.org/\(dataset)/\(filename)"
        return Product(archive: "lab", dataset: dataset, filename: filename, uri: "lab:\(dataset)/\(filename)", url: url, identity: url, size: 10)
    }

    static let uncal = mast("jw02734001001_02101_00001-seg001_nis_uncal.fits", level: "1b", suffix: "_uncal", size: 200_000_000)
    static let rate = mast("jw02734001001_02101_00001-seg001_nis_rate.fits", level: "2a", suffix: "_rate")
    static let rateints = mast("jw02734001001_02101_00001-seg001_nis_rateints.fits", level: "2a", suffix: "_rateints")
    static let cal = mast("jw02734001001_02101_00001-seg001_nis_cal.fits", suffix: "_cal", recommended: true)
    static let x1dints = mast("jw02734001001_02101_00001-seg001_nis_x1dints.fits", suffix: "_x1dints", recommended: true)
    static let exclusiveCal = mast("jw02734001001_02101_00001-seg002_nis_cal.fits", suffix: "_cal", access: .exclusive)
    static let guideStar = mast("jw02734001001_gs-fg_2022183153612_cal.fits", suffix: "_cal", instrument: "FGS", filters: nil)
    static let preview = mast("jw02734001001_02101_00001-seg001_nis_cal.jpg", type: .preview)
    static let level3Spectrum = mast("jw02734-o002_t002_niriss_x1dints.fits", dataset: level3, level: "3", suffix: "_x1dints", recommended: true)
    static let association = mast("jw02734-o002_20220606t120000_spec3_00001_asn.json", dataset: level3, level: "3", type: .association, size: nil)
    static let flatReference = mast("jwst_niriss_flat_0275.fits", level: nil, type: .reference, filters: "CLEAR")

    static let all = [uncal, rate, rateints, cal, x1dints, exclusiveCal, guideStar, preview, level3Spectrum, association, flatReference]
    /// What an empty `select:` keeps: everything but guide-star and calibration-reference files.
    static let byDefault = all.filter { $0 != guideStar && $0 != flatReference }
}

/// One filter table row: the filters and the products they must keep out of `SelectionSamples.all`.
struct FilterCase: Sendable, CustomTestStringConvertible {
    var name: String
    var filters: SelectFilters
    var kept: [Product]
    var testDescription: String { name }
}

@Suite struct ProductFilterTests {
    typealias S = SelectionSamples

    static let singleKeys: [FilterCase] = [
        FilterCase(name: "no filters", filters: SelectFilters(), kept: S.byDefault),
        FilterCase(name: "levels, case-insensitive", filters: SelectFilters(levels: ["2B"]), kept: [S.cal, S.x1dints, S.exclusiveCal, S.preview]),
        FilterCase(name: "levels OR-ed", filters: SelectFilters(levels: ["2a", "3"]), kept: [S.rate, S.rateints, S.level3Spectrum, S.association]),
        FilterCase(name: "suffixes", filters: SelectFilters(suffixes: ["_cal"]), kept: [S.cal, S.exclusiveCal, S.preview]),
        FilterCase(name: "suffixes OR-ed, any case, underscore optional", filters: SelectFilters(suffixes: ["CAL", "_X1DINTS"]), kept: [S.cal, S.x1dints, S.exclusiveCal, S.preview, S.level3Spectrum]),
        FilterCase(name: "suffix derived from the file name", filters: SelectFilters(suffixes: ["_asn"]), kept: [S.association]),
        FilterCase(name: "extensions", filters: SelectFilters(extensions: [".json", ".jpg"]), kept: [S.preview, S.association]),
        FilterCase(name: "extensions, case-insensitive", filters: SelectFilters(extensions: [".FITS"]), kept: S.byDefault.filter { $0 != S.preview && $0 != S.association }),
        FilterCase(name: "types", filters: SelectFilters(types: [.preview, .association]), kept: [S.preview, S.association]),
        FilterCase(name: "access", filters: SelectFilters(access: [.exclusive]), kept: [S.exclusiveCal]),
        FilterCase(name: "match in the file name", filters: SelectFilters(match: ["SEG002"]), kept: [S.exclusiveCal]),
        FilterCase(name: "match OR-ed", filters: SelectFilters(match: ["seg002", "o002"]), kept: [S.exclusiveCal, S.level3Spectrum, S.association]),
        FilterCase(name: "match in the instrument", filters: SelectFilters(match: ["niriss"], guidestar: true), kept: S.byDefault),
        FilterCase(name: "match in the filters", filters: SelectFilters(match: ["gr700xd"], guidestar: true, calibrationReferences: true), kept: S.byDefault),
        FilterCase(name: "include", filters: SelectFilters(include: [FilePattern("seg00[2-3]")]), kept: [S.exclusiveCal]),
        FilterCase(name: "include OR-ed, found anywhere", filters: SelectFilters(include: [FilePattern("_rate"), FilePattern("x1d")]), kept: [S.rate, S.rateints, S.x1dints, S.level3Spectrum]),
        FilterCase(name: "include anchored", filters: SelectFilters(include: [FilePattern("^jw02734-")]), kept: [S.level3Spectrum, S.association]),
        FilterCase(name: "exclude", filters: SelectFilters(exclude: [FilePattern("_rateints")]), kept: S.byDefault.filter { $0 != S.rateints }),
        FilterCase(name: "exclude any of several", filters: SelectFilters(exclude: [FilePattern("\\.jpg$"), FilePattern("(?i)UNCAL")]), kept: S.byDefault.filter { $0 != S.preview && $0 != S.uncal }),
        FilterCase(name: "recommended", filters: SelectFilters(recommended: true), kept: [S.cal, S.x1dints, S.level3Spectrum]),
        FilterCase(name: "recommended false filters nothing", filters: SelectFilters(recommended: false), kept: S.byDefault),
        FilterCase(name: "guidestar", filters: SelectFilters(guidestar: true), kept: S.all.filter { S.byDefault.contains($0) || $0 == S.guideStar }),
        FilterCase(name: "guidestar false", filters: SelectFilters(guidestar: false), kept: S.byDefault),
        FilterCase(name: "calibration references", filters: SelectFilters(calibrationReferences: true), kept: S.byDefault + [S.flatReference]),
        FilterCase(name: "max size, unknown size passes", filters: SelectFilters(maxSize: 100_000_000), kept: S.byDefault.filter { $0 != S.uncal }),
        FilterCase(name: "max size is inclusive", filters: SelectFilters(maxSize: 1_000_000), kept: S.byDefault.filter { $0 != S.uncal }),
        FilterCase(name: "max size below everything", filters: SelectFilters(maxSize: 10), kept: [S.association]),
    ]

    static let combinations: [FilterCase] = [
        FilterCase(name: "levels AND suffixes AND extensions", filters: SelectFilters(levels: ["2b"], suffixes: ["_cal"], extensions: [".fits"]), kept: [S.cal, S.exclusiveCal]),
        FilterCase(name: "levels AND suffixes, each OR-ed", filters: SelectFilters(levels: ["2b", "3"], suffixes: ["_x1dints", "_asn"]), kept: [S.x1dints, S.level3Spectrum, S.association]),
        FilterCase(name: "recommended AND levels", filters: SelectFilters(levels: ["3"], recommended: true), kept: [S.level3Spectrum]),
        FilterCase(name: "include AND exclude AND levels", filters: SelectFilters(levels: ["2a", "2b"], include: [FilePattern("seg001")], exclude: [FilePattern("_rate")]), kept: [S.cal, S.x1dints, S.preview]),
        FilterCase(name: "guidestar AND suffixes", filters: SelectFilters(suffixes: ["_cal"], extensions: [".fits"], guidestar: true), kept: [S.cal, S.exclusiveCal, S.guideStar]),
        FilterCase(name: "access AND match", filters: SelectFilters(match: ["seg001"], access: [.public], maxSize: 1_000_000), kept: [S.rate, S.rateints, S.cal, S.x1dints, S.preview]),
        FilterCase(name: "types AND calibration references", filters: SelectFilters(types: [.reference], calibrationReferences: true), kept: [S.flatReference]),
        FilterCase(name: "types without calibration references", filters: SelectFilters(types: [.reference]), kept: []),
        FilterCase(name: "keys that exclude each other", filters: SelectFilters(levels: ["1b"], recommended: true), kept: []),
    ]

    @Test(arguments: singleKeys + combinations)
    func keepsExactlyTheExpectedProducts(_ row: FilterCase) throws {
        let filter = try ProductFilter(row.filters)
        let kept = S.all.filter(filter.accepts).map(\.filename)
        #expect(kept == row.kept.map(\.filename))
    }

    @Test func levelAliasesMatchToo() throws {
        var caom = S.mast("ibcd01abq_flt.fits", level: "CALIBRATED")
        caom.levelAliases = ["2"]
        #expect(try ProductFilter(SelectFilters(levels: ["2"])).accepts(caom))
        #expect(try ProductFilter(SelectFilters(levels: ["calibrated"])).accepts(caom))
        #expect(try !ProductFilter(SelectFilters(levels: ["3"])).accepts(caom))
    }

    @Test func productWithoutLevelOrTypeFailsThoseKeysOnly() throws {
        let bare = S.mast("notes_readme.txt", level: nil, type: nil, size: nil, instrument: nil, filters: nil)
        #expect(try ProductFilter(SelectFilters()).accepts(bare))
        #expect(try !ProductFilter(SelectFilters(levels: ["2b"])).accepts(bare))
        #expect(try !ProductFilter(SelectFilters(types: [.science])).accepts(bare))
        #expect(try !ProductFilter(SelectFilters(match: ["niriss"])).accepts(bare))
        #expect(try ProductFilter(SelectFilters(maxSize: 1)).accepts(bare))
    }

    @Test func extensionIsTheEndOfTheName() throws {
        let packed = S.mast("jw02734001001_02101_00001-seg001_nis_cal.fits.gz", suffix: "_cal")
        #expect(try !ProductFilter(SelectFilters(extensions: [".fits"])).accepts(packed))
        #expect(try ProductFilter(SelectFilters(extensions: [".gz"])).accepts(packed))
        #expect(try ProductFilter(SelectFilters(extensions: [".fits.gz"])).accepts(packed))
    }

    @Test func includeAndExcludeSeeTheWholeRelativeName() throws {
        let nested = S.index("raw/scan_0001.h5", dataset: "20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3")
        #expect(try ProductFilter(SelectFilters(include: [FilePattern("^raw/")])).accepts(nested))
        #expect(try !ProductFilter(SelectFilters(exclude: [FilePattern("^raw/")])).accepts(nested))
    }

    @Test func invalidRegexThrowsPatternError() {
        #expect(throws: PatternError.self) { try ProductFilter(SelectFilters(exclude: [FilePattern("seg00[1")])) }
        #expect(throws: PatternError.self) { try ProductFilter(SelectFilters(include: [FilePattern("ok"), FilePattern("*cal")])) }
    }

    static let suffixNames: [(String, String?)] = [
        ("jw02734001001_02101_00001-seg001_nis_cal.fits", "_cal"),
        ("jw02734001001_02101_00001-seg001_nis_rateints.fits", "_rateints"),
        ("jw02734-o002_t002_niriss_x1dints.fits", "_x1dints"),
        ("jw02734001001_gs-fg_2022183153612_cal.fits", "_cal"),
        ("jw02734-o002_20220606t120000_spec3_00001_asn.json", "_asn"),
        ("jw02734001001_02101_00001-seg001_nis_cal.fits.gz", "_cal"),
        ("ibcd01abq_FLT.fits", "_flt"),
        ("u9o40504m_c3m.fits", "_c3m"),
        ("raw/scan_RAW.h5", "_raw"),
        ("run_7/scan.h5", nil),
        ("jwst_niriss_flat_0275.fits", nil),
        ("SPHER.2016-09-26T03:04:09.308.fits", nil),
        ("FORS2.2021-01-02T00_59_12.533_raw2raw.xml", nil),
        ("trailing_.fits", nil),
        ("README", nil),
        ("", nil),
    ]

    @Test(arguments: suffixNames)
    func derivesSuffixFromFilename(_ filename: String, _ expected: String?) {
        #expect(ProductFilter.suffix(ofFilename: filename) == expected)
    }
}
