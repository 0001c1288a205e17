import DatapinKit
import Testing

/// Why a product is left out, in the words `datapin products` shows: the `select` key that drops it.
@Suite struct ProductExclusionTests {
    static func reason(_ product: Product, _ change: (inout SelectFilters) -> Void) throws -> String? {
        var filters = SelectFilters()
        change(&filters)
        return try ProductFilter(filters).exclusion(of: product)
    }

    @Test func eachKeyNamesItselfAndWhatTheProductHas() throws {
        let pool = SelectionSamples.mast("jw02734_20220712t152522_pool.csv", level: nil, suffix: "_pool", type: .association)
        #expect(try Self.reason(pool) { $0.levels = ["2b", "3"] } == "excluded by levels: no level given")
        #expect(try Self.reason(SelectionSamples.rate) { $0.levels = ["2b", "3"] } == "excluded by levels: 2a is not one of 2b, 3")
        #expect(try Self.reason(SelectionSamples.rate) { $0.suffixes = ["cal", "_x1dints"] } == "excluded by suffixes: _rate is not one of _cal, _x1dints")
        #expect(try Self.reason(SelectionSamples.preview) { $0.extensions = [".fits"] } == "excluded by extensions: the name does not end in .fits")
        #expect(try Self.reason(SelectionSamples.preview) { $0.types = [.science] } == "excluded by types: preview is not one of science")
        #expect(try Self.reason(SelectionSamples.exclusiveCal) { $0.access = [.public] } == "excluded by access: exclusive")
        #expect(try Self.reason(SelectionSamples.cal) { $0.exclude = [FilePattern("seg00[1-9]")] } == "excluded by exclude: the name matches 'seg00[1-9]'")
        #expect(try Self.reason(SelectionSamples.cal) { $0.include = [FilePattern("_x1d")] } == "excluded by include: no pattern matches the name")
        #expect(try Self.reason(SelectionSamples.rate) { $0.recommended = true } == "excluded by recommended: not among the archive's recommended products")
        #expect(try Self.reason(SelectionSamples.guideStar) { _ in } == "excluded: a guide-star file (guidestar: true takes it)")
        #expect(try Self.reason(SelectionSamples.uncal) { $0.maxSize = 100_000_000 } == "excluded by max_size: 200.0 MB is over 100.0 MB")
    }

    @Test func aTakenProductHasNoReasonAndAcceptsAgrees() throws {
        #expect(try Self.reason(SelectionSamples.cal) { $0.levels = ["2b"]; $0.suffixes = ["cal"] } == nil)
        for product in [SelectionSamples.cal, SelectionSamples.rate, SelectionSamples.guideStar, SelectionSamples.preview] {
            let filter = try ProductFilter(SelectFilters(levels: ["2b"]))
            #expect(filter.accepts(product) == (filter.exclusion(of: product) == nil))
        }
    }
}
