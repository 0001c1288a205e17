import DatapinKit
@testable import DatapinArchives
@testable import DatapinSelection
@testable import DatapinSpec
import Foundation
import Testing
import TestSupport

/// Helpers shared by the MAST suites: fixture bytes, a fake MAST that serves them, request bodies.
enum MASTTestSupport {
    static func fixture(_ path: String) throws -> Data {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try Data(contentsOf: root.appendingPathComponent("mast").appendingPathComponent(path))
    }

    /// An archive on `server` with small pages and a tiny Portal wait.
    static func archive(_ server: LoopbackServer, credentials: ArchiveCredentials = ArchiveCredentials(), limits: MASTArchive.Limits = MASTArchive.Limits(portalPollDelaySeconds: 0.01, portalMaximumPolls: 5)) -> MASTArchive {
        MASTArchive(name: "mast", baseURL: server.baseURL, credentials: credentials, limits: limits)
    }

    static func entry(mission: String? = nil, ids: [String] = [], where conditions: [WhereCondition] = [], obsids: [String] = []) -> DatasetEntry {
        DatasetEntry(index: 0, archive: "mast", mission: mission, ids: ids, whereConditions: conditions, obsids: obsids)
    }

    /// A request's JSON body as an object.
    static func jsonBody(_ request: LoopbackRequest) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any] ?? [:]
    }

    /// The JSON inside a Portal request's `request=` form body.
    static func portalRequest(_ request: LoopbackRequest) -> [String: Any] {
        let text = request.bodyText
        guard text.hasPrefix("request="), let decoded = text.dropFirst("request=".count).removingPercentEncoding else { return [:] }
        return (try? JSONSerialization.jsonObject(with: Data(decoded.utf8))) as? [String: Any] ?? [:]
    }
}

/// MAST answers (the recorded HST ones and JWST rows built per ARCHIVES.md) normalised into
/// Products, and the normalisation rules one by one.
@Suite("MASTNormalisation")
struct MASTNormalisationTests {
    @Test func portalProductsFixtureBecomesTwentyTwoHSTProducts() async throws {
        let answer = try MASTTestSupport.fixture("products.json")
        let server = try LoopbackServer { request in
            request.path == "/api/v0/invoke" ? LoopbackResponse.ok(answer, contentType: "application/json") : .status(404)
        }
        defer { server.shutdown() }

        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["2003738726"]))
        #expect(products.count == 22)
        #expect(Set(products.map(\.mission)) == ["hst"])
        #expect(Set(products.map(\.dataset)) == ["U9O40504M"])
        #expect(Set(products.filter(\.recommended).map(\.filename)) == ["u9o40504m_c0f.fits", "u9o40504m_c1f.fits", "u9o40504m_drz.fits"])
        #expect(products.filter { $0.type == .science }.count == 7)
        #expect(products.filter { $0.type == .auxiliary }.count == 15)
        #expect(products.allSatisfy { $0.level == nil && $0.levelAliases.isEmpty }, "the older 16-column answer has no calib_level")
        #expect(products.allSatisfy { $0.access == .public && !$0.guidestar && $0.sha256 == nil })

        let c3m = try #require(products.first { $0.filename == "u9o40504m_c3m.fits" })
        #expect(c3m.uri == "mast:HST/product/u9o40504m_c3m.fits")
        #expect(c3m.identity == c3m.uri)
        #expect(c3m.url == "\(server.baseURL)/api/v0.1/Download/file?uri=mast:HST/product/u9o40504m_c3m.fits")
        #expect(c3m.suffix == "_c3m")
        #expect(c3m.size == 207360)
        let jif = try #require(products.first { $0.filename == "u9o40504j_jif.fits" })
        #expect(jif.suffix == "_jif" && jif.dataset == "U9O40504M", "the dataset is obs_id even when the file name differs")
        #expect(products.first { $0.filename == "u9o40504m_drz.fits" }?.size == 27_227_520)
    }

    @Test func missionProductsFixtureKeepsHSTCategoriesAndTrimsTheInstrument() async throws {
        let answer = try MASTTestSupport.fixture("mission_products.json")
        let server = try LoopbackServer { request in
            request.path == "/search/hst/api/v0.1/post_list_products" ? LoopbackResponse.ok(answer, contentType: "application/json") : .status(404)
        }
        defer { server.shutdown() }

        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "hst", ids: ["Z14Z0104T"]))
        #expect(products.map(\.filename) == ["z14z0104t_shf.fits", "z14z0104t_trl.fits", "z14z0104t_ulf.fits", "z14z0104t_pdq.fits", "z14z0104x_ocx.fits"])
        #expect(products.map(\.level) == ["UNCALIBRATED", "AUX", "UNCALIBRATED", "AUX", "OTHER"])
        #expect(products.map(\.suffix) == ["_shf", "_trl", "_ulf", "_pdq", "_ocx"])
        #expect(products.allSatisfy { $0.instrument == "HRS" && $0.filters == "MIRROR-N2" && $0.type == .science })
        #expect(products.allSatisfy { $0.dataset == "Z14Z0104T" && $0.mission == "hst" && $0.access == .public })
        #expect(products.allSatisfy { !$0.recommended }, "no file is CALIBRATED")
        let shf = products[0]
        #expect(shf.uri == "mast:HST/product/z14z0104t_shf.fits")
        #expect(shf.url == "\(server.baseURL)/search/hst/api/v0.1/retrieve_product?product_name=Z14Z0104T%2Fz14z0104t_shf.fits")
        #expect(shf.size == 31680)
        #expect(MASTTestSupport.jsonBody(try #require(server.requests.first))["dataset_ids"] as? [String] == ["Z14Z0104T"])
    }

    @Test func missionResultsFixtureGivesTheHSTDatasetIds() async throws {
        let answer = try MASTTestSupport.fixture("mission_results.json")
        let server = try LoopbackServer { request in
            switch request.path {
            case "/search/hst/api/v0.1/search": return .ok(answer, contentType: "application/json")
            case "/search/hst/api/v0.1/post_list_products": return .json(#"{"products": []}"#)
            default: return .status(404)
            }
        }
        defer { server.shutdown() }

        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "hst", where: [WhereCondition(name: "sci_pep_id", values: ["12062"])]))
        #expect(products.isEmpty, "datasets found by where: may list no products")
        let listing = try #require(server.requests.last)
        #expect(MASTTestSupport.jsonBody(listing)["dataset_ids"] as? [String] == ["W1DG8D06T", "W1DG9S01T", "J8DM01ELQ"])
        #expect(server.requests.count == 2, "totalResults 3 is read in one page")
    }

    static let jwstA = "jw02734001001_02101_00001", jwstB = "jw02734002001_04101_00001"

    @Test func jwstRowsBecomeLevelledProducts() async throws {
        let answer = try MASTTestSupport.fixture("jwst/post_list_products.json")
        let server = try LoopbackServer { request in
            request.path == "/search/jwst/api/v0.1/post_list_products" ? LoopbackResponse.ok(answer, contentType: "application/json") : .status(404)
        }
        defer { server.shutdown() }

        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "jwst", ids: [Self.jwstA, Self.jwstB]))
        let a = Self.jwstA, pool = "jw02734_20220701t040403_pool.csv"
        #expect(products.map(\.filename) == [
            "\(a)-seg001_nis_uncal.fits", "\(a)-seg001_nis_rateints.fits", "\(a)-seg001_nis_cal.fits", "\(a)-seg001_nis_x1dints.fits",
            "jw02734001001_gs-fg_2022184153208_cal.fits", pool, "\(Self.jwstB)-seg001_nis_cal.fits", pool,
        ], "the pool both datasets list stays under each, for the lock's `also`")
        #expect(products.map(\.level) == ["1b", "2a", "2b", "2b", "2b", "3", "2b", "3"])
        #expect(products.map(\.levelAliases) == [["1"], ["2"], ["2"], ["2"], ["2"], [], ["2"], []])
        #expect(products.map(\.suffix) == ["_uncal", "_rateints", "_cal", "_x1dints", "_cal", "_pool", "_cal", "_pool"])
        #expect(products.map(\.type) == [.science, .science, .science, .science, .science, .association, .science, .association])
        #expect(products.map(\.guidestar) == [false, false, false, false, true, false, false, false])
        #expect(products.map(\.access) == [.public, .public, .public, .public, .public, .public, .exclusive, .public])
        #expect(products.map(\.recommended) == [false, false, true, true, false, false, true, false])
        #expect(products[5].dataset == a && products[7].dataset == Self.jwstB)
        #expect(products[5].identity == products[7].identity, "one file: selection locks it once")
        #expect(products[4].instrument == "FGS" && products[2].instrument == "NIRISS" && products[2].filters == "CLEAR;GR700XD")

        let cal = products[2]
        #expect(cal.mission == "jwst" && cal.dataset == a && cal.size == 115_208_640)
        #expect(cal.uri == "mast:JWST/product/\(a)-seg001_nis_cal.fits")
        #expect(cal.url == "\(server.baseURL)/search/jwst/api/v0.1/retrieve_product?product_name=\(a)%2F\(a)-seg001_nis_cal.fits")

        let levelTwo = try ProductFilter(SelectFilters(levels: ["2"]))
        #expect(products.filter(levelTwo.accepts).map(\.level) == ["2a", "2b", "2b", "2b"], "the guide star is out by default; level 2 matches 2a and 2b")
    }

    @Test func currentPortalRowsCarryLevelRightsFiltersAndGuideStars() async throws {
        let rows = """
        {"status": "COMPLETE", "paging": {"page": 1, "pagesFiltered": 1}, "data": [
          {"obsID": 87602009, "obs_collection": "JWST", "obs_id": "jw02734001001_02101_00001", "dataURI": "mast:JWST/product/jw02734001001_gs-fg_2022184153208_cal.fits",
           "productType": "AUXILIARY", "productGroupDescription": null, "productSubGroupDescription": "GS-FG", "productFilename": "jw02734001001_gs-fg_2022184153208_cal.fits",
           "size": 1388160, "dataRights": "EXCLUSIVE_ACCESS", "calib_level": 2, "filters": "NA", "proposal_id": "2734"},
          {"obsID": "87602009", "obs_collection": "JWST", "obs_id": "jw02734-o001_t001_niriss_clear-gr700xd", "dataURI": "mast:JWST/product/jw02734-o001_t001_niriss_clear-gr700xd-substrip256_x1dints.fits",
           "productType": "SCIENCE", "productGroupDescription": "Minimum Recommended Products", "productSubGroupDescription": "X1DINTS",
           "productFilename": "jw02734-o001_t001_niriss_clear-gr700xd-substrip256_x1dints.fits", "size": 5000, "dataRights": "PUBLIC", "calib_level": 3, "filters": "CLEAR;GR700XD"}
        ]}
        """
        let server = try LoopbackServer { _ in .json(rows) }
        defer { server.shutdown() }

        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["87602009"]))
        #expect(products.count == 2)
        let guide = products[0], spectrum = products[1]
        #expect(guide.level == "2" && guide.levelAliases == ["calibrated"])
        #expect(guide.suffix == "_gs-fg" && guide.guidestar && guide.type == .auxiliary && guide.access == .exclusive && guide.filters == "NA")
        #expect(!guide.recommended)
        #expect(spectrum.level == "3" && spectrum.levelAliases == ["calibrated"] && spectrum.recommended && spectrum.access == .public)
        #expect(spectrum.mission == "jwst" && spectrum.dataset == "jw02734-o001_t001_niriss_clear-gr700xd" && spectrum.suffix == "_x1dints")
    }

    @Test(arguments: [
        ("SHF", "_shf"), ("_cal", "_cal"), ("GS-FG", "_gs-fg"), ("  DRZ ", "_drz"), ("__x1d", "_x1d"), ("", nil), ("   ", nil),
    ] as [(String, String?)])
    func suffixesAreLowercaseWithOneUnderscore(value: String, expected: String?) {
        #expect(MASTNormalisation.suffix(value) == expected)
        #expect(MASTNormalisation.suffix(nil) == nil)
    }

    @Test(arguments: [
        ("science", "jw01_nis_cal.fits", ProductType.science),
        ("SCIENCE", "u9o40504m_c0f.fits", .science),
        ("AUXILIARY", "u9o40504m_trl.fits", .auxiliary),
        ("PREVIEW", "jw01_nis_cal.jpg", .preview),
        ("THUMBNAIL", "jw01_nis_cal_thumb.jpg", .preview),
        ("INFO", "jw01_info.txt", .info),
        ("CALIBRATION", "n3o1022ij_drk.fits", .reference),
        ("science", "jw02734-o001_20220701t040403_image3_00001_asn.json", .association),
        ("auxiliary", "jw02734_20220701t040403_pool.csv", .association),
        ("science", "jwst_niriss_flat_0190.fits", .reference),
        ("info", "jwst_1100.pmap", .reference),
    ] as [(String, String, ProductType)])
    func typesComeFromTheNameFirstThenMASTsType(name: String, filename: String, expected: ProductType) {
        #expect(MASTNormalisation.type(named: name, filename: filename) == expected)
    }

    @Test func exposureIsAType() {
        #expect(MASTNormalisation.type(named: "exposure", filename: "jw02734002001_04101_00001-seg001_nis_calints.fits") == .exposure)
        #expect(MASTNormalisation.type(named: "EXPOSURE", filename: "jw02734002001_04101_00001-seg001_nis_o002_crfints.fits") == .exposure)
    }

    @Test(arguments: [
        ("jw02734002001_04101_00001", "jw02734002001_04101_00001-seg001_nis_calints.fits", true),
        ("jw02734-o002_t001_niriss", "jw02734-o002_t001_niriss_x1dints.fits", true),
        ("jw02734-o002_t001_niriss", "jw02734002001_04101_00001-seg001_nis_calints.fits", false),
        ("jw02734002001_04101_00001", "jw02734_20220712t152522_pool.csv", false),
        ("jw02734002001_04101_00001", "jw02734002001_gs-fg_2022193052540_cal.fits", false),
        ("jw02734002001_04101_0000", "jw02734002001_04101_00001-seg001_nis_cal.fits", false),
        ("Z14Z0104T", "z14z0104t_shf.fits", true),
        ("Z14Z0104T", "Z14Z0104T/z14z0104t_shf.fits", true),
        ("", "x.fits", false),
    ] as [(String, String, Bool)])
    func aRowOwnsTheFilesNamedAfterItsDataset(dataset: String, filename: String, owned: Bool) {
        #expect(MASTNormalisation.namesOwnFile(dataset: dataset, filename: filename) == owned)
    }

    @Test func theRecordedHSTListingOwnsTheFilesWhoseAuthorisationIsItsOwn() throws {
        let answer = try #require(try JSONSerialization.jsonObject(with: MASTTestSupport.fixture("mission_products.json")) as? [String: Any])
        let rows = try #require(answer["products"] as? [[String: Any]])
        for row in rows {
            let dataset = try #require(row["dataset"] as? String), filename = try #require(row["filename"] as? String)
            let authorisedBy = try #require(row["authz_primary_identifier"] as? String)
            #expect(MASTNormalisation.namesOwnFile(dataset: dataset, filename: filename) == (authorisedBy == dataset), "\(filename) is authorised by \(authorisedBy)")
        }
        #expect(rows.contains { $0["authz_primary_identifier"] as? String != $0["dataset"] as? String }, "the answer lists another dataset's file")
    }

    @Test func jwstRecommendsAnExposures2bNever2cAndAnAssociations3() {
        func product(_ dataset: String, _ name: String, _ level: String, _ type: ProductType = .science) -> Product {
            Product(archive: "mast", dataset: dataset, filename: name, uri: "mast:JWST/product/\(name)", url: "u", level: level, type: type)
        }
        let e = "jw02734002001_04101_00001", a = "jw02734-o002_t001_niriss"
        var products = [
            product(e, "\(e)-seg001_nis_rateints.fits", "2a"), product(e, "\(e)-seg001_nis_calints.fits", "2b"),
            product(e, "\(e)-seg001_nis_x1dints.fits", "2b", .exposure), product(e, "\(e)-seg001_nis_o002_crfints.fits", "2c"),
            product(e, "jw02734_20220712t152522_pool.csv", "3", .auxiliary),
            product(a, "\(e)-seg001_nis_calints.fits", "2b"), product(a, "\(e)-seg001_nis_o002_crfints.fits", "2c"),
            product(a, "\(a)_x1dints.fits", "3"),
            product("jw02734003001_04101_00001", "jw02734003001_04101_00001-seg001_nis_o003_crfints.fits", "2c"),
        ]
        MASTNormalisation.markRecommended(&products, mission: "jwst")
        #expect(products.map(\.recommended) == [false, true, true, false, false, false, false, true, false])
    }

    @Test func anUnknownTypeIsNil() {
        #expect(MASTNormalisation.type(named: "CATALOG", filename: "hlsp_x.fits") == nil)
        #expect(MASTNormalisation.type(named: nil, filename: "x.fits") == nil)
    }

    @Test(arguments: [("PUBLIC", Access.public), ("public", .public), ("EXCLUSIVE_ACCESS", .exclusive), ("RESTRICTED", .exclusive), ("", .public)] as [(String, Access)])
    func accessIsPublicOnlyWhenMASTSaysSo(value: String, expected: Access) {
        #expect(MASTNormalisation.access(value) == expected)
        #expect(MASTNormalisation.access(nil) == .public)
    }

    @Test(arguments: [
        ("1b", "1b", ["1"]), ("2A", "2a", ["2"]), ("2b", "2b", ["2"]), ("3", "3", []),
        ("CALIBRATED", "CALIBRATED", []), ("AUX", "AUX", []), ("-1", "-1", []),
    ] as [(String, String, [String])])
    func missionCategoriesBecomeLevels(category: String, level: String, aliases: [String]) {
        let result = MASTNormalisation.missionLevel(category)
        #expect(result.level == level && result.aliases == aliases)
    }

    @Test(arguments: [(Int64(1), ["uncalibrated"]), (2, ["calibrated"]), (3, ["calibrated"]), (4, ["contributed"]), (9, [])] as [(Int64, [String])])
    func caomCalibrationLevelsBecomeLevelsWithNames(level: Int64, aliases: [String]) {
        let result = MASTNormalisation.caomLevel(level)
        #expect(result.level == String(level) && result.aliases == aliases)
    }

    @Test func hstRecommendsCalibratedScienceFiles() {
        func product(_ name: String, _ level: String, _ type: ProductType) -> Product {
            Product(archive: "mast", dataset: "J8DM01ELQ", filename: name, uri: "mast:HST/product/\(name)", url: "u", level: level, type: type)
        }
        var products = [product("j8dm01elq_drz.fits", "CALIBRATED", .science), product("j8dm01elq_raw.fits", "UNCALIBRATED", .science), product("j8dm01elq_trl.fits", "CALIBRATED", .auxiliary)]
        MASTNormalisation.markRecommended(&products, mission: "hst")
        #expect(products.map(\.recommended) == [true, false, false])
    }

    @Test func guideStarsAreNamedWithGS() {
        #expect(MASTNormalisation.isGuideStar("jw01_GS-ACQ1_2022_cal.fits"))
        #expect(MASTNormalisation.isGuideStar("jw01_gs-track_2022_cal.fits"))
        #expect(!MASTNormalisation.isGuideStar("jw01_nis_cal.fits"))
        #expect(!MASTNormalisation.isGuideStar("jw01_gsfg_cal.fits"))
    }
}
