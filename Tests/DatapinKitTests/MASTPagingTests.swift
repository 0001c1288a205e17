import DatapinKit
@testable import DatapinArchives
@testable import DatapinSpec
import Foundation
import Testing
import TestSupport

/// An archive whose paging never finishes (empty pages, the same page again, or new rows for
/// ever) ends the listing with a malformed-answer error after a bounded number of requests.
@Suite struct MASTPagingTests {
    static let datasets = (1...3).map { index in
        FakeMAST.MissionDataset(mission: "jwst", id: "jw02734001001_0210\(index)_00001", columns: ["program": "02734"], instrument: "NIRISS", filters: "CLEAR", files: [
            .init("jw02734001001_0210\(index)_00001_cal.fits", category: "2b", fileSuffix: "_cal"),
        ])
    }

    static let observations = [
        FakeMAST.Observation(obsid: "2003738726", collection: "HST", obsID: "U9O40504M", files: (1...4).map { .init("u9o40504m_\($0).fits", subGroup: "C\($0)F", calibLevel: 2) }),
    ]

    static func listing(_ fault: FakeMAST.PagingFault, search: Bool, maximumPages: Int = 10_000) async throws -> (ArchiveError?, requests: Int) {
        let archive = try FakeMAST(datasets: datasets, observations: observations, executingAnswers: 0, pagingFault: fault)
        defer { archive.shutdown() }
        let limits = MASTArchive.Limits(searchPageSize: 2, portalPageSize: 3, portalPollDelaySeconds: 0.01, maximumPagesPerListing: maximumPages)
        let mast = MASTArchive(name: "mast", baseURL: archive.baseURL, limits: limits)
        let entry = search
            ? MASTTestSupport.entry(mission: "jwst", where: [WhereCondition(name: "program", values: ["02734"])])
            : MASTTestSupport.entry(obsids: ["2003738726"])
        do {
            _ = try await mast.products(for: entry)
            return (nil, archive.requests.count)
        } catch {
            return (error, archive.requests.count)
        }
    }

    static func reason(_ error: ArchiveError?) -> String? {
        guard case .malformedAnswer(_, let reason) = error else { return nil }
        return reason
    }

    @Test func anEmptySearchPageBeforeTotalResultsStops() async throws {
        let (error, requests) = try await Self.listing(.emptyPagesForever, search: true)
        #expect(Self.reason(error) == "totalResults is 1000000000 but the page at offset 3 has no rows")
        #expect(requests == 3)
    }

    @Test func aRepeatedSearchPageStops() async throws {
        let (error, requests) = try await Self.listing(.repeatsFirstPage, search: true)
        #expect(Self.reason(error) == "the page at offset 2 repeats only rows already received (jw02734001001_02101_00001…); paging would never finish")
        #expect(requests == 2)
    }

    @Test func searchPagesAreBounded() async throws {
        let (error, requests) = try await Self.listing(.endlessNewRows, search: true, maximumPages: 5)
        #expect(Self.reason(error) == "the search was still not finished after 5 pages (10 of the 1000000000 rows totalResults announces); datapin stops here")
        #expect(requests == 5)
    }

    @Test func anEmptyPortalPageBeforePagesFilteredStops() async throws {
        let (error, requests) = try await Self.listing(.emptyPagesForever, search: false)
        #expect(Self.reason(error) == "pagesFiltered is 1000000000 but page 3 has no rows")
        #expect(requests == 3)
    }

    @Test func aRepeatedPortalPageStops() async throws {
        let (error, requests) = try await Self.listing(.repeatsFirstPage, search: false)
        #expect(Self.reason(error)?.hasPrefix("page 2 repeats only rows already received (mast:HST/product/u9o40504m_1.fits…)") == true, "\(String(describing: error))")
        #expect(requests == 2)
    }

    @Test func portalPagesAreBounded() async throws {
        let (error, requests) = try await Self.listing(.endlessNewRows, search: false, maximumPages: 4)
        #expect(Self.reason(error) == "Mast.Caom.Products still had pages after 4 pages (12 rows); datapin stops here")
        #expect(requests == 4)
    }

    @Test func aPageBoundBelowOneIsOneAndTheDefaultAllowsFiftyMillionSearchRows() {
        let limits = MASTArchive.Limits()
        #expect(limits.maximumPagesPerListing * limits.searchPageSize == 50_000_000)
        #expect(MASTArchive.Limits(maximumPagesPerListing: 0).maximumPagesPerListing == 1)
    }
}
