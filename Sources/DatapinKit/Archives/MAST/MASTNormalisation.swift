import DatapinSelection
import DatapinSpec
import Foundation

/// Turns MAST's product rows (Mission Search and Portal/CAOM) into archive-neutral `Product`s:
/// one vocabulary for levels, suffixes, types and access across both APIs.
enum MASTNormalisation {
    /// A Mission Search row as a `Product`. `mission` is the spec's lowercased mission; the
    /// lock's URI is `mast:<MISSION>/product/<filename>`, the same name the Portal uses, so a
    /// file listed by both APIs is one file. `recommended` is set later, per dataset, by
    /// `markRecommended`.
    static func product(_ row: MissionProductRow, mission: String, archive: String, baseURL: String) -> Product {
        let (level, aliases) = missionLevel(row.category)
        let productName = row.productName.addingPercentEncoding(withAllowedCharacters: MASTConnection.unreserved) ?? row.productName
        let missionPath = mission.addingPercentEncoding(withAllowedCharacters: MASTConnection.unreserved) ?? mission
        return Product(
            archive: archive,
            mission: mission,
            dataset: row.dataset,
            filename: row.filename,
            uri: "mast:\(mission.uppercased())/product/\(row.filename)",
            url: "\(baseURL)/search/\(missionPath)/api/v0.1/retrieve_product?product_name=\(productName)",
            size: row.size,
            level: level,
            levelAliases: aliases,
            suffix: suffix(row.fileSuffix),
            type: type(named: row.type, filename: row.filename),
            access: access(row.access),
            guidestar: isGuideStar(row.filename),
            instrument: trimmed(row.instrument),
            filters: trimmed(row.filters))
    }

    /// A Portal/CAOM row as a `Product`: the dataset is `obs_id`, the mission the collection.
    static func product(_ row: PortalProductRow, archive: String, baseURL: String) -> Product {
        let (level, aliases) = caomLevel(row.calibrationLevel)
        let uri = row.dataURI.addingPercentEncoding(withAllowedCharacters: downloadURIAllowed) ?? row.dataURI
        return Product(
            archive: archive,
            mission: trimmed(row.collection)?.lowercased(),
            dataset: row.observation,
            filename: row.filename,
            uri: row.dataURI,
            url: "\(baseURL)/api/v0.1/Download/file?uri=\(uri)",
            size: row.size,
            level: level,
            levelAliases: aliases,
            suffix: suffix(row.subGroupDescription),
            type: type(named: row.productType, filename: row.filename),
            access: access(row.dataRights),
            recommended: trimmed(row.groupDescription)?.caseInsensitiveCompare(minimumRecommended) == .orderedSame,
            guidestar: isGuideStar(row.filename),
            instrument: trimmed(row.instrument),
            filters: trimmed(row.filters))
    }

    /// The Portal's mark of the files MAST recommends.
    static let minimumRecommended = "Minimum Recommended Products"

    /// `Download/file?uri=` keeps `:` and `/` as they are (as astroquery sends it) and encodes
    /// everything else outside RFC 3986's unreserved set.
    static let downloadURIAllowed = MASTConnection.unreserved.union(CharacterSet(charactersIn: ":/"))

    // MARK: Levels

    /// JWST and Roman categories are product levels (`1B` → `1b`) with CAOM's calib_level as
    /// an alias (`1b` → `1`, `2a`/`2b` → `2`), so `levels: [2]` means the same for both APIs.
    /// Other categories (HST's `CALIBRATED`, `AUX`, `OTHER`) are kept as given, without aliases.
    static func missionLevel(_ category: String?) -> (level: String?, aliases: [String]) {
        guard let category = trimmed(category) else { return (nil, []) }
        guard let rank = levelRank(category) else { return (category, []) }
        let level = category.lowercased()
        let number = String(rank.number)
        return (level, level == number ? [] : [number])
    }

    /// CAOM calib_level as text (`2`), with the names a `levels:` value may use instead, as
    /// MAST's Portal documents the column (0 raw, 1 uncalibrated, 2 calibrated, 3 science
    /// product, 4 contributed): 0 `raw`, 1 `uncalibrated`, 2 and 3 `calibrated` (HST's
    /// CALIBRATED category holds both the level-2 exposures and the level-3 combined images),
    /// 4 `contributed`.
    static func caomLevel(_ calibrationLevel: Int64?) -> (level: String?, aliases: [String]) {
        guard let calibrationLevel else { return (nil, []) }
        let names: [Int64: String] = [0: "raw", 1: "uncalibrated", 2: "calibrated", 3: "calibrated", 4: "contributed"]
        return (String(calibrationLevel), names[calibrationLevel].map { [$0] } ?? [])
    }

    /// `2b` → (2, "b"), `3` → (3, ""); nil for a category that is not a product level.
    static func levelRank(_ level: String) -> (number: Int, stage: String)? {
        let lowered = level.lowercased()
        guard let first = lowered.first, let number = first.wholeNumberValue else { return nil }
        let stage = String(lowered.dropFirst())
        guard stage.count <= 1, stage.allSatisfy({ $0.isLetter && $0.isASCII }) else { return nil }
        return (number, stage)
    }

    // MARK: Recommended products (Mission Search)

    /// Mission Search lists no recommended products, so datapin marks them itself, per dataset,
    /// to match what the Portal's "Minimum Recommended Products" holds:
    /// - HST: the `science` files whose category is `CALIBRATED` (the Portal recommends the
    ///   calibrated exposures and combined images, never raw, auxiliary or other files);
    /// - JWST, Roman and any mission whose categories are levels: the `science` files, guide
    ///   stars left out, at the highest level the dataset has (a stage-2 exposure's `2b`
    ///   `_cal`/`_x1dints`, a stage-3 association's `3` products), which is the pipeline's final
    ///   product for that dataset; lower levels are its inputs.
    static func markRecommended(_ products: inout [Product], mission: String) {
        if mission == "hst" {
            for index in products.indices {
                products[index].recommended = products[index].type == .science && products[index].level?.uppercased() == "CALIBRATED"
            }
            return
        }
        func candidateRank(_ product: Product) -> (number: Int, stage: String)? {
            guard product.type == .science, !product.guidestar, let level = product.level else { return nil }
            return levelRank(level)
        }
        var highest: [String: (number: Int, stage: String)] = [:]
        for product in products {
            guard let rank = candidateRank(product) else { continue }
            if let current = highest[product.dataset], current >= rank { continue }
            highest[product.dataset] = rank
        }
        for index in products.indices {
            guard let rank = candidateRank(products[index]), let top = highest[products[index].dataset] else {
                products[index].recommended = false
                continue
            }
            products[index].recommended = rank == top
        }
    }

    // MARK: Suffix, type, access, guide stars

    /// `SHF`, `_cal`, `GS-FG` → `_shf`, `_cal`, `_gs-fg`.
    static func suffix(_ value: String?) -> String? {
        guard let value = trimmed(value)?.lowercased() else { return nil }
        let bare = value.drop { $0 == "_" }
        return bare.isEmpty ? nil : "_" + bare
    }

    /// The product's role. Names decide first: `_asn.json` and `_pool.csv` are association
    /// files, and a name starting with `jwst_` or `roman_` is a pipeline calibration-reference
    /// file (CRDS names them `jwst_<instrument>_<reftype>_<serial>.<ext>`, `jwst_1100.pmap`;
    /// science products start with `jw<program>`). Otherwise MAST's type: science, auxiliary
    /// (or `aux`), preview (or `thumbnail`), info, calibration/reference, association; an
    /// unknown type is nil, which a `types:` filter leaves out.
    static func type(named name: String?, filename: String) -> ProductType? {
        let base = (filename.split(separator: "/").last.map(String.init) ?? filename).lowercased()
        if base.hasSuffix("_asn.json") || base.hasSuffix("_pool.csv") { return .association }
        if base.hasPrefix("jwst_") || base.hasPrefix("roman_") { return .reference }
        switch trimmed(name)?.lowercased() {
        case "science": return .science
        case "auxiliary", "aux": return .auxiliary
        case "preview", "thumbnail": return .preview
        case "info": return .info
        case "calibration", "reference": return .reference
        case "association": return .association
        default: return nil
        }
    }

    /// `PUBLIC` (or no value, as in older answers) is public; any other value
    /// (`EXCLUSIVE_ACCESS`) needs a token.
    static func access(_ value: String?) -> Access {
        guard let value = trimmed(value) else { return .public }
        return value.uppercased() == "PUBLIC" ? .public : .exclusive
    }

    /// Guide-star files carry `_gs-` in their name (gs-id, gs-acq1, gs-fg, gs-track…).
    static func isGuideStar(_ filename: String) -> Bool {
        filename.lowercased().contains("_gs-")
    }

    /// `products` with repeated listings of one URI in one dataset dropped (the first stays). A
    /// file that several datasets list stays under each: selection locks it once, at the first
    /// dataset's path, and names the others in the lock's `also`.
    static func uniqueByDatasetAndURI(_ products: [Product]) -> [Product] {
        var seen: Set<[String]> = []
        return products.filter { seen.insert([$0.dataset, $0.uri]).inserted }
    }

    /// `value` without surrounding blanks (`"HRS   "` → `"HRS"`); nil when nothing is left.
    static func trimmed(_ value: String?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
