import DatapinSpec
import DatapinSupport
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
        exclusion(of: product) == nil
    }

    /// Why `product` is left out, naming the `select` key that drops it ("excluded by levels:
    /// no level given"), or nil when every key takes it; `datapin products` shows it.
    public func exclusion(of product: Product) -> String? {
        if let levels {
            let productLevels = ([product.level].compactMap { $0 } + product.levelAliases).map { $0.lowercased() }
            if productLevels.isEmpty { return "excluded by levels: no level given" }
            guard productLevels.contains(where: levels.contains) else {
                return "excluded by levels: \(productLevels.joined(separator: "/")) is not one of \(Self.list(filters.levels ?? []))"
            }
        }
        if let suffixes {
            guard let suffix = product.suffix ?? Self.suffix(ofFilename: product.filename) else { return "excluded by suffixes: the name has no suffix" }
            guard suffixes.contains(Self.normalizedSuffix(suffix)) else {
                return "excluded by suffixes: \(Self.normalizedSuffix(suffix)) is not one of \(Self.list(suffixes.sorted()))"
            }
        }
        if let extensions {
            let name = product.filename.lowercased()
            guard extensions.contains(where: { name.hasSuffix($0) }) else { return "excluded by extensions: the name does not end in \(Self.list(extensions))" }
        }
        if let types = filters.types {
            guard let type = product.type else { return "excluded by types: no type given" }
            guard types.contains(type) else { return "excluded by types: \(type.rawValue) is not one of \(Self.list(types.map(\.rawValue)))" }
        }
        if let access = filters.access, !access.contains(product.access) { return "excluded by access: \(product.access.rawValue)" }
        if let match {
            let haystacks = [product.filename, product.instrument, product.filters].compactMap { $0?.lowercased() }
            guard match.contains(where: { needle in haystacks.contains { $0.contains(needle) } }) else {
                return "excluded by match: none of \(Self.list(match)) is in the name, instrument or filters"
            }
        }
        if let include, !include.contains(where: { $0.matches(product.filename) }) { return "excluded by include: no pattern matches the name" }
        if let exclude, let pattern = exclude.first(where: { $0.matches(product.filename) }) { return "excluded by exclude: the name matches '\(pattern.pattern.source)'" }
        if filters.recommended == true, !product.recommended { return "excluded by recommended: not among the archive's recommended products" }
        if filters.guidestar != true, product.guidestar { return "excluded: a guide-star file (guidestar: true takes it)" }
        if filters.calibrationReferences != true, product.isCalibrationReference { return "excluded: a calibration-reference file (calibration_references: true takes it)" }
        if let maxSize = filters.maxSize, let size = product.size, size > maxSize {
            return "excluded by max_size: \(ByteSize.format(size)) is over \(ByteSize.format(maxSize))"
        }
        return nil
    }

    private static func list(_ values: [String]) -> String {
        values.joined(separator: ", ")
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
