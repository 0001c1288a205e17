import DatapinKit
@testable import DatapinLock
@testable import DatapinSelection
@testable import DatapinSpec
import Foundation
import Testing
import TestSupport

/// One JWST observation as both MAST APIs list it (the built pair in Fixtures/mast/jwst): what
/// datapin recommends and which dataset it gives each file from Mission Search must be what the
/// Portal recommends and the `obs_id` it gives the same files.
@Suite("MASTRecommended") struct MASTRecommendedTests {
    static let exposure = "jw02734002001_04101_00001"
    static let association = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256"

    /// A loopback MAST answering the pair: `post_list_products` and `Mast.Caom.Products`.
    static func server() throws -> LoopbackServer {
        let mission = try MASTTestSupport.fixture("jwst/post_list_products_jw02734_o002.json")
        let portal = try MASTTestSupport.fixture("jwst/portal_products_jw02734_o002.json")
        return try LoopbackServer { request in
            switch request.path {
            case "/search/jwst/api/v0.1/post_list_products": return .ok(mission, contentType: "application/json")
            case "/api/v0/invoke": return .ok(portal, contentType: "application/json")
            default: return .status(404)
            }
        }
    }

    /// The Portal's rows of the fixture: file name → (obs_id, recommended, calib_level).
    static func portalRows() throws -> [String: (observation: String, recommended: Bool, level: Int)] {
        let answer = try #require(try JSONSerialization.jsonObject(with: MASTTestSupport.fixture("jwst/portal_products_jw02734_o002.json")) as? [String: Any])
        var rows: [String: (observation: String, recommended: Bool, level: Int)] = [:]
        for row in try #require(answer["data"] as? [[String: Any]]) {
            let name = try #require(row["productFilename"] as? String)
            rows[name] = (try #require(row["obs_id"] as? String), row["productGroupDescription"] as? String == "Minimum Recommended Products", try #require(row["calib_level"] as? Int))
        }
        return rows
    }

    /// The lock entries of `ids:` (association first, as a `where:` search sorts them) with `select`.
    static func locked(_ select: SelectFilters, server: LoopbackServer) async throws -> [LockEntry] {
        let entry = DatasetEntry(index: 0, archive: "mast", mission: "jwst", ids: [association, exposure], select: select)
        let products = try await MASTTestSupport.archive(server).products(for: entry)
        return try SelectionAssembler.assemble([(entry: entry, products: products)], spec: Spec(file: "datapin.yaml", datasets: [entry]), source: nil)
    }

    @Test func missionSearchRecommendsWhatThePortalRecommends() async throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let portal = try Self.portalRows()
        let recommended = try await Self.locked(SelectFilters(recommended: true), server: server)
        let filenames = recommended.map { String($0.path.split(separator: "/").last!) }
        #expect(Set(filenames) == Set(portal.filter(\.value.recommended).keys))
        #expect(!filenames.contains { $0.hasSuffix("_crfints.fits") }, "level 2c is stage 3's input, never final")
        #expect(Set(recommended.map(\.level)) == ["2b", "3"])
    }

    @Test func everyFileGoesToTheDatasetThePortalNamesItsObservation() async throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let portal = try Self.portalRows()
        let entries = try await Self.locked(SelectFilters(), server: server)
        #expect(entries.count == 9, "uncal rateints calints x1dints crfints pool; x1dints whtlt asn (the guide star is out by default)")
        for entry in entries {
            let name = String(entry.path.split(separator: "/").last!)
            if name.hasSuffix("_pool.csv") {
                #expect(entry.dataset == Self.association && entry.also == [Self.exposure], "a program's pool is no dataset's own: spec order decides")
                continue
            }
            let row = try #require(portal[name], "\(name) is in the Portal's answer")
            #expect(entry.dataset == row.observation, "\(name)")
            #expect(entry.path == "\(row.observation)/\(name)")
        }
        let calints = try #require(entries.first { $0.path.hasSuffix("_calints.fits") })
        #expect(calints.also == [Self.association], "the association that uses it is named in also")
    }

    @Test func portalRecommendationsOfTheSameObservationAreItsExposures2bAndItsLevel3() async throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["87602100"]))
        let recommended = products.filter(\.recommended)
        #expect(Set(recommended.map(\.suffix)) == ["_calints", "_x1dints", "_whtlt"])
        #expect(Set(recommended.map(\.dataset)) == [Self.exposure, Self.association])
        #expect(products.allSatisfy { $0.ownedByDataset }, "CAOM's obs_id is the file's own observation")
    }
}
