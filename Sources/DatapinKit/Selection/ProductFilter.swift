import DatapinSpec
import Foundation

/// SelectFilters compiled once (regexes compiled) and applied to products.
///
/// Values inside one key are OR-ed, keys are AND-ed, and a nil key filters nothing, as in
/// astroquery's `filter_products`; `guidestar` and `calibrationReferences` are the exceptions:
/// unless they are `true`, guide-star and calibration-reference files are out.
public struct ProductFilter: Sendable {
    public let filters: SelectFilters
    private let include: [CompiledPattern]?
    private let exclude: [CompiledPattern]?
    private let levels: Set<String>?
    private let suffixes: Set<String>?
    private let extensions: [String]?
    private let match: [String]?

    /// Compiles the filters' regular expressions; throws for the first one that does not compile.
    public init(_ filters: SelectFilters) throws(PatternError) {
        self.filters = filters
        include = try filters.include.map { patterns throws(PatternError) in try Self.compile(patterns) }
        exclude = try filters.exclude.map { patterns throws(PatternError) in try Self.compile(patterns) }
        levels = filters.levels.map { Set($0.map { $0.lowercased() }) }
        suffixes = filters.suffixes.map { Set($0.map(Self.normalizedSuffix)) }
        extensions = filters.extensions.map { $0.map { $0.lowercased() } }
        match = filters.match.map { $0.map { $0.lowercased() } }
    }

    /// True when `product` passes every key of the filters.
    public func accepts(_ product: Product) -> Bool {
        if let levels {
            let productLevels = ([product.level].compactMap { $0 } + product.levelAliases).map { $0.lowercased() }
            guard productLevels.contains(where: levels.contains) else { return false }
        }
        if let suffixes {
            guard let suffix = product.suffix ?? Self.suffix(ofFilename: product.filename),
                  suffixes.contains(Self.normalizedSuffix(suffix)) else { return false }
        }
        if let extensions {
            let name = product.filename.lowercased()
            guard extensions.contains(where: { name.hasSuffix($0) }) else { return false }
        }
        if let types = filters.types {
            guard let type = product.type, types.contains(type) else { return false }
        }
        if let access = filters.access, !access.contains(product.access) { return false }
        if let match {
            let haystacks = [product.filename, product.instrument, product.filters].compactMap { $0?.lowercased() }
            guard match.contains(where: { needle in haystacks.contains { $0.contains(needle) } }) else { return false }
        }
        if let include, !include.contains(where: { $0.matches(product.filename) }) { return false }
        if let exclude, exclude.contains(where: { $0.matches(product.filename) }) { return false }
        if filters.recommended == true, !product.recommended { return false }
        if filters.guidestar != true, product.guidestar { return false }
        if filters.calibrationReferences != true, product.isCalibrationReference { return false }
        if let maxSize = filters.maxSize, let size = product.size, size > maxSize { return false }
        return true
    }

    /// The product suffix a file name carries, lowercase with its underscore (`_cal`): the last
    /// `_xxx` segment of the base name before its first dot, when that segment starts with a
    /// letter (`jw02734001001_02101_00001-seg001_nis_cal.fits` → `_cal`; `scan_001.h5` → nil).
    public static func suffix(ofFilename filename: String) -> String? {
        let baseName = filename.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        let stem = baseName.prefix { $0 != "." }
        guard let underscore = stem.lastIndex(of: "_") else { return nil }
        let segment = stem[stem.index(after: underscore)...]
        guard let first = segment.first, first.isLetter else { return nil }
        return "_" + segment.lowercased()
    }

    private static func normalizedSuffix(_ suffix: String) -> String {
        let lowered = suffix.lowercased()
        return lowered.hasPrefix("_") ? lowered : "_" + lowered
    }

    private static func compile(_ patterns: [FilePattern]) throws(PatternError) -> [CompiledPattern] {
        var compiled: [CompiledPattern] = []
        for pattern in patterns { compiled.append(try CompiledPattern(pattern)) }
        return compiled
    }
}
