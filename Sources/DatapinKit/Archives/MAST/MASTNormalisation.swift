import DatapinSelection
import DatapinSpec
import Foundation

/// Turns MAST's product rows (Mission Search and Portal/CAOM) into archive-neutral `Product`s:
/// one vocabulary for levels, suffixes, types and access across both APIs.
enum MASTNormalisation {
    /// A Mission Search row as a `Product`. `mission` is the spec's lowercased mission; the
    /// lock's URI is `mast:<MISSION>/product/<filename>`, the same name the Portal uses, so a
    /// file listed by both APIs is one file. `recommended` is set later, per dataset, by
    /// `markRecommended`. The row owns its file when the file is named after the row's dataset
    /// (`namesOwnFile`).
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
            ownedByDataset: namesOwnFile(dataset: row.dataset, filename: row.filename),
            guidestar: isGuideStar(row.filename),
            instrument: trimmed(row.instrument),
            filters: trimmed(row.filters))
    }

    /// True when `filename` is named after `dataset`: it starts with the dataset id
    /// (case-insensitively) followed by the end of the name or a character that is not a letter
    /// or digit. JWST and HST name a dataset's own files so
    /// (`jw02734001001_02101_00001-seg001_nis_cal.fits` of `jw02734001001_02101_00001`,
    /// `jw02734-o002_t002_niriss_x1dints.fits` of `jw02734-o002_t002_niriss`,
    /// `z14z0104t_shf.fits` of `Z14Z0104T`); a file a dataset lists from another one carries the
    /// other's name (an association's member exposures; HST's `z14z0104x_ocx.fits`, whose
    /// `authz_primary_identifier` is `Z14Z0104X`), and a file of the whole program carries
    /// neither (`jw02734_20220701t040403_pool.csv`).
    static func namesOwnFile(dataset: String, filename: String) -> Bool {
        let name = (filename.split(separator: "/").last.map(String.init) ?? filename).lowercased()
        let id = dataset.lowercased()
        guard !id.isEmpty, name.hasPrefix(id) else { return false }
        guard let next = name.dropFirst(id.count).first else { return true }
        return !(next.isLetter || next.isNumber)
    }

    /// A Portal/CAOM row as a `Product`: the dataset is `obs_id`, the mission the collection. CAOM's
    /// `obs_id` is the observation the file belongs to (a member exposure's file listed for its
    /// level-3 observation carries the member's `obs_id`), so every row owns its file.
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
            ownedByDataset: true,
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
    /// to match what the Portal's "Minimum Recommended Products" holds. Candidates are the data
    /// files (type `science` or `exposure`), guide stars left out:
    /// - HST: the candidates whose category is `CALIBRATED` (the Portal recommends the
    ///   calibrated exposures and combined images, never raw, auxiliary or other files);
    /// - JWST: the candidates of the pipeline's final stage for the dataset, as the Portal
    ///   recommends them: stage 2b for an exposure (`_cal`, `_calints`, `_x1dints`…), stage 3
    ///   for an association, whose listing may also hold its members' 2b and 2c files. Level
    ///   `2c` (`_crf`, `_crfints`: an exposure's outlier-flagged copy, made as stage 3's input),
    ///   `1b` and `2a` are inputs and never recommended: the dataset's candidates at the higher
    ///   of `2b` and `3` it has are;
    /// - Roman and any other mission whose categories are levels: the candidates at the highest
    ///   level the dataset has.
    static func markRecommended(_ products: inout [Product], mission: String) {
        if mission == "hst" {
            for index in products.indices {
                products[index].recommended = isCandidate(products[index]) && products[index].level?.uppercased() == "CALIBRATED"
            }
            return
        }
        func candidateRank(_ product: Product) -> (number: Int, stage: String)? {
            guard isCandidate(product), let level = product.level, let rank = levelRank(level) else { return nil }
            if mission == "jwst", !jwstFinalLevels.contains(level.lowercased()) { return nil }
            return rank
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

    /// The JWST levels whose products the Portal recommends: an exposure's 2b, an association's 3.
    static let jwstFinalLevels: Set<String> = ["2b", "3"]

    /// A data file that may be recommended: type science or exposure, not a guide star.
    private static func isCandidate(_ product: Product) -> Bool {
        (product.type == .science || product.type == .exposure) && !product.guidestar
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
    /// science products start with `jw<program>`). Otherwise MAST's type: science, exposure,
    /// auxiliary (or `aux`), preview (or `thumbnail`), info, calibration/reference, association; an
    /// unknown type is nil, which a `types:` filter leaves out.
    static func type(named name: String?, filename: String) -> ProductType? {
        let base = (filename.split(separator: "/").last.map(String.init) ?? filename).lowercased()
        if base.hasSuffix("_asn.json") || base.hasSuffix("_pool.csv") { return .association }
        if base.hasPrefix("jwst_") || base.hasPrefix("roman_") { return .reference }
        switch trimmed(name)?.lowercased() {
        case "science": return .science
        case "exposure": return .exposure
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
    /// file that several datasets list stays under each: selection locks it once, at the path of
    /// the dataset that owns it (else the first), and names the others in the lock's `also`.
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
