import DatapinKit
@testable import DatapinArchives
@testable import DatapinSpec
import Foundation
import Testing
import TestSupport

/// A count shared with a loopback handler (which runs on the server's thread).
final class MASTCallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    /// The number of this call, from 1.
    func next() -> Int { lock.withLock { count += 1; return count } }
}

/// MAST's two protocols against a loopback server: search paging, product batching, the
/// Portal's EXECUTING answers and paging, unknown datasets, errors.
@Suite("MASTProtocol")
struct MASTProtocolTests {
    /// One product row for `dataset`.
    static func row(_ dataset: String, _ file: String = "cal", access: String = "PUBLIC", size: String = "100") -> String {
        #"{"dataset": "\#(dataset)", "filename": "\#(dataset)_\#(file).fits", "uri": "\#(dataset)/\#(dataset)_\#(file).fits", "access": "\#(access)", "category": "2b", "file_suffix": "_\#(file)", "size": \#(size), "type": "science"}"#
    }

    /// A fake Mission Search for JWST: `datasets` match any search; every requested dataset
    /// that is in `known` lists one file.
    static func missionServer(datasets: [String], known: Set<String>? = nil) throws -> LoopbackServer {
        try LoopbackServer { request in
            let body = MASTTestSupport.jsonBody(request)
            switch request.path {
            case "/search/jwst/api/v0.1/search":
                let offset = body["offset"] as? Int ?? 0, limit = body["limit"] as? Int ?? 0
                let page = datasets.dropFirst(offset).prefix(limit).map { #"{"fileSetName": "\#($0)", "targprop": "WASP-39"}"# }
                return .json(#"{"messages": [], "info": [], "search_params": {}, "totalResults": \#(datasets.count), "results": [\#(page.joined(separator: ","))]}"#)
            case "/search/jwst/api/v0.1/post_list_products":
                let ids = (body["dataset_ids"] as? [String] ?? []).filter { known?.contains($0) ?? true }
                return .json(#"{"products": [\#(ids.map { row($0) }.joined(separator: ","))]}"#)
            default:
                return .status(404)
            }
        }
    }

    @Test func searchPagesUntilTotalResultsAreRead() async throws {
        let datasets = (1...5).map { "jw02734001001_0210\($0)_00001" }
        let server = try Self.missionServer(datasets: datasets)
        defer { server.shutdown() }
        let archive = MASTTestSupport.archive(server, limits: MASTArchive.Limits(searchPageSize: 2))

        let conditions = [WhereCondition(name: "program", values: ["02734"]), WhereCondition(name: "instrument_name", values: ["NIRISS", "NIRSPEC"])]
        let products = try await archive.products(for: MASTTestSupport.entry(mission: "jwst", where: conditions))
        #expect(products.map(\.dataset) == datasets)

        let searches = server.requests.filter { $0.path.hasSuffix("/search") }
        #expect(searches.count == 3)
        let bodies = searches.map(MASTTestSupport.jsonBody)
        #expect(bodies.map { $0["offset"] as? Int } == [0, 2, 4])
        #expect(bodies.allSatisfy { $0["limit"] as? Int == 2 })
        let first = try #require(bodies.first)
        #expect(first["conditions"] as? [[String: String]] == [["program": "02734"], ["instrument_name": "NIRISS,NIRSPEC"]])
        #expect(first["select_cols"] is NSNull)
        #expect(first["sort_by"] as? [String] == ["fileSetName"] && first["sort_desc"] as? [Bool] == [false], "a fixed order, so that offset paging neither skips nor repeats rows")
        #expect(searches.allSatisfy { $0.method == "POST" && $0.header("Content-Type") == "application/json" })
    }

    @Test func idsComeFirstThenSearchResultsWithoutRepeats() async throws {
        let server = try Self.missionServer(datasets: ["jwA", "jwB", "jwC"])
        defer { server.shutdown() }

        let entry = MASTTestSupport.entry(mission: "jwst", ids: ["jwC", "jwZ", "jwC"], where: [WhereCondition(name: "program", values: ["02734"])])
        let products = try await MASTTestSupport.archive(server).products(for: entry)
        let listing = try #require(server.requests.last)
        #expect(MASTTestSupport.jsonBody(listing)["dataset_ids"] as? [String] == ["jwC", "jwZ", "jwA", "jwB"])
        #expect(products.map(\.dataset) == ["jwC", "jwZ", "jwA", "jwB"])
    }

    @Test func productListsAreAskedForInBatches() async throws {
        let ids = (1...5).map { "jw0\($0)" }
        let server = try Self.missionServer(datasets: [])
        defer { server.shutdown() }
        let archive = MASTTestSupport.archive(server, limits: MASTArchive.Limits(productBatchSize: 2))

        let products = try await archive.products(for: MASTTestSupport.entry(mission: "jwst", ids: ids))
        #expect(products.map(\.dataset) == ids)
        let batches = server.requests.map { MASTTestSupport.jsonBody($0)["dataset_ids"] as? [String] ?? [] }
        // The batches are asked at once, so they may arrive in any order; the products keep the ids' order.
        #expect(batches.sorted { $0.first ?? "" < $1.first ?? "" } == [["jw01", "jw02"], ["jw03", "jw04"], ["jw05"]])
        #expect(server.requests.allSatisfy { $0.path == "/search/jwst/api/v0.1/post_list_products" && $0.method == "POST" })
    }

    @Test func aBatchNeverExceedsMASTsLimit() {
        #expect(MASTArchive.Limits(productBatchSize: 5000).productBatchSize == 1000)
        #expect(MASTArchive.Limits(searchPageSize: 0).searchPageSize == 1)
    }

    @Test func anIdWithoutProductsIsAnUnknownDataset() async throws {
        let server = try Self.missionServer(datasets: [], known: ["jw02734001001_02101_00001"])
        defer { server.shutdown() }

        await #expect(throws: ArchiveError.unknownDataset(archive: "mast", dataset: "jw09999001001_02101_00001")) {
            try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "jwst", ids: ["jw02734001001_02101_00001", "jw09999001001_02101_00001"]))
        }
    }

    @Test func anIdIsMatchedWhateverItsCase() async throws {
        let server = try LoopbackServer { _ in .json(#"{"products": [\#(Self.row("Z14Z0104T"))]}"#) }
        defer { server.shutdown() }
        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "hst", ids: ["z14z0104t"]))
        #expect(products.map(\.dataset) == ["Z14Z0104T"])
    }

    @Test func aSearchThatStopsShortOfTotalResultsIsMalformed() async throws {
        let server = try LoopbackServer { _ in .json(#"{"totalResults": 4, "results": []}"#) }
        defer { server.shutdown() }

        await #expect(throws: ArchiveError.malformedAnswer(url: "\(server.baseURL)/search/jwst/api/v0.1/search", reason: "totalResults is 4 but the page at offset 0 has no rows")) {
            try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "jwst", where: [WhereCondition(name: "program", values: ["1"])]))
        }
    }

    @Test(arguments: [
        (#"{"products": [\#(row("jwA")), \#(row("jwA", "x1d", size: "\"big\""))]}"#, "products[1].size is not a number"),
        (#"{"products": [{"dataset": "jwA", "uri": "jwA/a.fits"}]}"#, "products[0].filename is missing"),
        (#"{"products": {"dataset": "jwA"}}"#, "products is not a list"),
        (#"{"items": []}"#, "products is missing"),
        ("<html>busy</html>", "it is not valid JSON"),
    ])
    func malformedListingsNameWhatIsWrong(answer: String, reason: String) async throws {
        let server = try LoopbackServer { _ in .json(answer) }
        defer { server.shutdown() }

        await #expect(throws: ArchiveError.malformedAnswer(url: "\(server.baseURL)/search/jwst/api/v0.1/post_list_products", reason: reason)) {
            try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "jwst", ids: ["jwA"]))
        }
    }

    @Test func anotherErrorStatusIsAnHTTPStatus() async throws {
        let server = try LoopbackServer { _ in .status(503, body: "maintenance") }
        defer { server.shutdown() }
        await #expect(throws: ArchiveError.httpStatus(url: "\(server.baseURL)/api/v0/invoke", status: 503)) {
            try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["1"]))
        }
    }

    @Test func entriesMASTCannotAnswerAreUnsupported() async throws {
        let archive = MASTArchive(name: "mast", baseURL: "http://127.0.0.1:9")
        let entries: [DatasetEntry] = [
            MASTTestSupport.entry(ids: ["jwA"]),
            MASTTestSupport.entry(mission: "iue", ids: ["lwp01234"]),
            MASTTestSupport.entry(mission: "jwst"),
            DatasetEntry(index: 0, archive: "mast", adql: "SELECT 1"),
            DatasetEntry(index: 0, archive: "mast", pids: ["20.500/1"]),
        ]
        for entry in entries {
            await #expect {
                try await archive.products(for: entry)
            } throws: { error in
                guard case ArchiveError.unsupportedRequest(let name, _) = error else { return false }
                return name == "mast"
            }
        }
    }

    // MARK: Portal

    static func portalAnswer(status: String = "COMPLETE", page: Int = 1, pages: Int = 1, rows: [String] = []) -> String {
        #"{"status": "\#(status)", "msg": "", "fields": [], "paging": {"page": \#(page), "pageSize": 2, "pagesFiltered": \#(pages), "rows": \#(rows.count)}, "data": [\#(rows.joined(separator: ","))]}"#
    }

    static func portalRow(_ file: String, obsID: String = "2003738726", obsName: String = "U9O40504M") -> String {
        #"{"obsID": "\#(obsID)", "obs_collection": "HST", "obs_id": "\#(obsName)", "dataURI": "mast:HST/product/\#(file)", "productType": "SCIENCE", "productSubGroupDescription": "C0F", "productFilename": "\#(file)", "size": 10}"#
    }

    @Test func executingIsAskedAgainUntilComplete() async throws {
        let calls = MASTCallCounter()
        let server = try LoopbackServer { _ in
            calls.next() <= 2 ? .json(Self.portalAnswer(status: "EXECUTING")) : .json(Self.portalAnswer(rows: [Self.portalRow("u9o40504m_c0f.fits")]))
        }
        defer { server.shutdown() }

        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["2003738726"]))
        #expect(products.map(\.filename) == ["u9o40504m_c0f.fits"])
        #expect(server.requests.count == 3)
        #expect(server.requests.map { MASTTestSupport.portalRequest($0)["page"] as? Int } == [1, 1, 1])
    }

    @Test func executingForeverGivesUpAfterTheLastTry() async throws {
        let server = try LoopbackServer { _ in .json(Self.portalAnswer(status: "EXECUTING")) }
        defer { server.shutdown() }
        let archive = MASTTestSupport.archive(server, limits: MASTArchive.Limits(portalPollDelaySeconds: 0.01, portalMaximumPolls: 3))

        await #expect(throws: ArchiveError.unreachable(url: "\(server.baseURL)/api/v0/invoke", reason: "Mast.Caom.Products was still executing after 3 tries; try again later")) {
            try await archive.products(for: MASTTestSupport.entry(obsids: ["2003738726"]))
        }
        #expect(server.requests.count == 3)
    }

    @Test func portalPagesAreReadToPagesFiltered() async throws {
        let server = try LoopbackServer { request in
            let page = MASTTestSupport.portalRequest(request)["page"] as? Int ?? 0
            let rows = page == 1 ? [Self.portalRow("a_c0f.fits"), Self.portalRow("b_c0f.fits")] : [Self.portalRow("c_c0f.fits", obsID: "2003738727")]
            return .json(Self.portalAnswer(page: page, pages: 2, rows: rows))
        }
        defer { server.shutdown() }
        let archive = MASTTestSupport.archive(server, limits: MASTArchive.Limits(portalPageSize: 2))

        let products = try await archive.products(for: MASTTestSupport.entry(obsids: ["2003738726", "2003738727"]))
        #expect(products.map(\.filename) == ["a_c0f.fits", "b_c0f.fits", "c_c0f.fits"])
        let requests = server.requests.map(MASTTestSupport.portalRequest)
        #expect(requests.map { $0["page"] as? Int } == [1, 2])
        let first = try #require(requests.first)
        #expect(first["service"] as? String == "Mast.Caom.Products")
        #expect(first["params"] as? [String: String] == ["obsid": "2003738726,2003738727"])
        #expect(first["format"] as? String == "json" && first["pagesize"] as? Int == 2)
        #expect(server.requests.allSatisfy { $0.path == "/api/v0/invoke" && $0.method == "POST" && $0.header("Content-Type") == "application/x-www-form-urlencoded" })
    }

    @Test func anObsidWithoutRowsIsAnUnknownDataset() async throws {
        let server = try LoopbackServer { _ in .json(Self.portalAnswer(rows: [Self.portalRow("a_c0f.fits", obsID: "11")])) }
        defer { server.shutdown() }
        await #expect(throws: ArchiveError.unknownDataset(archive: "mast", dataset: "12")) {
            try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["11", "12"]))
        }

        let empty = try LoopbackServer { _ in .json(Self.portalAnswer()) }
        defer { empty.shutdown() }
        await #expect(throws: ArchiveError.unknownDataset(archive: "mast", dataset: "13")) {
            try await MASTTestSupport.archive(empty).products(for: MASTTestSupport.entry(obsids: ["13"]))
        }
    }

    @Test func aPortalErrorSaysWhatMASTSaid() async throws {
        let server = try LoopbackServer { _ in .json(#"{"status": "ERROR", "msg": "obsid is not valid", "data": []}"#) }
        defer { server.shutdown() }
        await #expect(throws: ArchiveError.unreachable(url: "\(server.baseURL)/api/v0/invoke", reason: "Mast.Caom.Products failed: obsid is not valid")) {
            try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(obsids: ["x"]))
        }
    }

    @Test func aFileListedTwiceForOneDatasetIsKeptOnceFromTheFirstListing() async throws {
        let server = try LoopbackServer { request in
            request.path == "/api/v0/invoke"
                ? .json(Self.portalAnswer(rows: [Self.portalRow("Z14Z0104T_cal.fits", obsName: "Z14Z0104T"), Self.portalRow("u9o40504m_c0f.fits")]))
                : .json(#"{"products": [\#(Self.row("Z14Z0104T"))]}"#)
        }
        defer { server.shutdown() }
        let products = try await MASTTestSupport.archive(server).products(for: MASTTestSupport.entry(mission: "hst", ids: ["Z14Z0104T"], obsids: ["2003738726"]))
        #expect(products.map(\.uri) == ["mast:HST/product/Z14Z0104T_cal.fits", "mast:HST/product/u9o40504m_c0f.fits"])
        #expect(products[0].url == "\(server.baseURL)/search/hst/api/v0.1/retrieve_product?product_name=Z14Z0104T%2FZ14Z0104T_cal.fits")
    }
}
