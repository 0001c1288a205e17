import DatapinKit
@testable import DatapinArchives
@testable import DatapinSelection
import Foundation
import Testing
import TestSupport

/// The recorded MAST answers the adapter does not read itself — the Portal's column
/// configuration, a bundle download's status and a cloud path lookup — checked against what the
/// adapter makes of the answers it does read: the names and URIs datapin writes are MAST's own.
@Suite("MASTFixtureCrossCheck") struct MASTFixtureCrossCheckTests {
    static func object(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: MASTTestSupport.fixture(path)) as? [String: Any])
    }

    /// The Portal products of observation 2003738726 from the recorded `products.json`.
    static func portalProducts() async throws -> [Product] {
        let answer = try MASTTestSupport.fixture("products.json")
        let server = try LoopbackServer { request in
            request.path == "/api/v0/invoke" ? LoopbackResponse.ok(answer, contentType: "application/json") : .status(404)
        }
        defer { server.shutdown() }
        return try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["2003738726"]))
    }

    @Test func theProductColumnsDatapinReadsAreColumnsThePortalDocuments() async throws {
        let columns = try Self.object("columnsconfig.json")
        for column in ["obs_collection", "obs_id", "instrument_name", "filters", "calib_level", "dataRights", "proposal_id"] {
            #expect(columns[column] != nil, "\(column) is not in MAST's column configuration")
        }
        let filters = try #require(columns["filters"] as? [String: Any])
        #expect(filters["separator"] as? String == ";", "filters are kept as MAST joins them")
    }

    @Test func calibrationLevelNamesAreThoseThePortalDocuments() async throws {
        let calibLevel = try #require(try Self.object("columnsconfig.json")["calib_level"] as? [String: Any])
        let example = try #require(calibLevel["example"] as? String)
        var documented: [Int64: String] = [:]
        for part in example.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, let level = Int64(pair[0]) { documented[level] = pair[1] }
        }
        #expect(documented.count == 5, "\(example)")
        for (level, name) in documented {
            let (text, aliases) = MASTNormalisation.caomLevel(level)
            #expect(text == String(level))
            if level == 3 {
                #expect(name == "science product" && aliases == ["calibrated"], "level 3 is matched as HST's CALIBRATED category, which holds it")
            } else {
                #expect(aliases.count == 1 && name.hasPrefix(aliases[0]), "level \(level) is '\(name)' in MAST's documentation; datapin's name is \(aliases)")
            }
        }
    }

    @Test func lockedURIsAreTheOnesMASTsOwnServicesName() async throws {
        let products = try await Self.portalProducts()
        let uris = Set(products.map(\.uri))
        let lookup = try Self.object("mast_relative_path.json")
        for (uri, answer) in lookup {
            let found = (answer as? [String: Any])?["status_code"] as? Int == 200
            #expect(uris.contains(uri) == found, "\(uri): path_lookup takes the URIs datapin locks")
        }
        let bundle = try Self.object("bundleResponse.json")
        let bundled = try #require(bundle["statusList"] as? [String: String])
        #expect(Set(bundled.keys) == Set(products.filter(\.recommended).map(\.uri)), "MAST's bundle of this observation is its minimum recommended products")
        #expect(bundled.values.allSatisfy { $0 == "COMPLETE" })
    }
}
