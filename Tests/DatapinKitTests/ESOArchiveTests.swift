import DatapinKit
@testable import DatapinArchives
import DatapinLock
import DatapinSelection
import DatapinSpec
import Foundation
import Testing
import TestSupport

/// The ESO adapter's own readings: calSelector's `#this` description, dp_ids of DataLink IDs
/// and portal URLs, ESO timestamps, what `outdated` compares and the lock warnings' sentences.
@Suite struct ESOArchiveTests {
    @Test func calSelectorsDescriptionIsReadAsAttributes() {
        let description = #"category="SCI_IMG_2x2_low" certified="false" complete="true" mode="Raw2Raw" type="main" messages="no master bias""#
        #expect(ESOCalSelector.attributes(description) == ["category": "SCI_IMG_2x2_low", "certified": "false", "complete": "true", "mode": "Raw2Raw", "type": "main", "messages": "no master bias"])
        #expect(ESOCalSelector.attributes("Requested file").isEmpty)
    }

    @Test func dpIDsAreReadFromDataLinkIDsAndPortalURLs() {
        #expect(ESOFile.dpID(of: "ivo://eso.org/ID?FORS2.2021-01-02T00:59:12.533") == "FORS2.2021-01-02T00:59:12.533")
        #expect(ESOFile.dpID(of: "FORS2.x") == "FORS2.x")
        #expect(ServedFileName.lastPathSegment(of: "https://dataportal.eso.org/dataPortal/file/M.FORS2.2021-01-05T10%3A00%3A00.000") == "M.FORS2.2021-01-05T10:00:00.000")
        #expect(ServedFileName.lastPathSegment(of: "https://dataportal.eso.org/dataPortal/file/ADP.1?x=/y") == "ADP.1")
    }

    @Test func esoTimestampsWithAndWithoutFractionOrZone() {
        #expect(ESOFile.date("2022-01-02T01:05:12.000Z") == Date(timeIntervalSince1970: 1_641_085_512))
        #expect(ESOFile.date("2022-01-02T01:05:12") == Date(timeIntervalSince1970: 1_641_085_512))
        #expect(ESOFile.date("not a date") == nil)
    }

    @Test func outdatedComparesSizeModifiedAccessAndNotListed() {
        let archive = ESOArchive(name: "eso")
        let locked = LockEntry(path: "F/F.fits.Z", archive: "eso", dataset: "F", uri: "eso:F", url: "https://dataportal.eso.org/dataPortal/file/F", size: 10, modified: "2021-01-02T09:45:03.123Z")
        var listed = Product(archive: "eso", dataset: "F", filename: "F.fits.Z", uri: "eso:F", url: "https://elsewhere/F", size: 10, modified: "2021-01-02T09:45:03.123Z")
        #expect(archive.upstreamChanges(of: locked, listed: listed).isEmpty, "a URL is not a published fact of ESO's")
        listed.size = 11
        listed.modified = "2024-01-01T00:00:00.000Z"
        #expect(archive.upstreamChanges(of: locked, listed: listed) == [.size(locked: 10, listed: 11), .modified(locked: "2021-01-02T09:45:03.123Z", listed: "2024-01-01T00:00:00.000Z")])
        #expect(archive.upstreamChanges(of: locked, listed: nil) == [.notListed])
    }

    @Test func eachTreeProductCarriesItsFramesAssociationAndNoOtherProductDoes() async throws {
        var configuration = try FakeESO.Configuration.fors2()
        configuration.frames[0].raw2raw?.certified = false
        let server = try FakeESO(configuration)
        defer { server.shutdown() }
        let archive = ESOArchive(name: "eso", baseURL: server.baseURL)
        let products = try await archive.products(for: DatasetEntry(index: 0, archive: "eso", ids: [FakeESO.fors2Frame, FakeESO.fors2Twin], calibrations: .raw2master))
        let trees = products.filter { $0.type == .association }
        #expect(trees.map(\.dataset) == [FakeESO.fors2Frame, FakeESO.fors2Twin])
        let files = try #require(configuration.frames[0].raw2raw).allFiles.filter { $0.name != FakeESO.fors2Frame }.count
        #expect(trees.first?.association == CalibrationAssociation(mode: .raw2master, executed: "Raw2Raw", certified: false, complete: true, files: files))
        #expect(trees.last?.association?.certified == true)
        #expect(products.filter { $0.type != .association }.allSatisfy { $0.association == nil })
    }

    @Test func outdatedComparesATreesAssociation() {
        let archive = ESOArchive(name: "eso")
        let association = CalibrationAssociation(mode: .raw2raw, executed: "Raw2Raw", certified: false, complete: true, files: 50)
        let locked = LockEntry(path: "F/F_raw2raw.xml", archive: "eso", dataset: "F", uri: "eso:F/F_raw2raw.xml", url: "https://x/tree", size: 10, type: .association, association: association)
        var listed = Product(archive: "eso", dataset: "F", filename: "F_raw2raw.xml", uri: "eso:F/F_raw2raw.xml", url: "https://x/tree", size: 10, type: .association, association: association)
        #expect(archive.upstreamChanges(of: locked, listed: listed).isEmpty)
        listed.association?.certified = true
        #expect(archive.upstreamChanges(of: locked, listed: listed).map(\.phrase) == ["certified: no → yes"])
    }

    @Test func withoutCredentialsAFrameDataLinkRefusesIsExclusiveAndTheOthersKeepTheirExactFiles() async throws {
        var configuration = try FakeESO.Configuration.fors2()
        configuration.proprietary = [FakeESO.fors2Twin]
        configuration.datalinkRefusesProprietary = true
        let server = try FakeESO(configuration)
        defer { server.shutdown() }
        let archive = ESOArchive(name: "eso", baseURL: server.baseURL)
        let products = try await archive.products(for: DatasetEntry(index: 0, archive: "eso", ids: [FakeESO.fors2Frame, FakeESO.fors2Twin]))
        let open = try #require(products.first { $0.dataset == FakeESO.fors2Frame })
        #expect(open.access == .public && open.size == server.bytes(of: FakeESO.fors2Frame).map { Int64($0.count) })
        let refused = try #require(products.first { $0.dataset == FakeESO.fors2Twin })
        #expect(refused.access == .exclusive && refused.size == nil && refused.filename == "\(FakeESO.fors2Twin).fits.Z")
        #expect(refused.url == "\(server.baseURL)/dataPortal/file/\(FakeESO.fors2Twin)")
    }

    @Test func warningsNameAtMostFiveFramesAndCountTheRest() {
        let associations = (1...7).map { ESOCalSelector.Association(frame: "F\($0)", requestedMode: .raw2raw, executedMode: "Raw2Raw", certified: false, complete: true, treeURL: "u", treeSize: 1, members: []) }
        let warnings = ESOArchive.warnings(associations, mode: .raw2raw)
        #expect(warnings == ["calSelector's raw2raw association of 7 frames uses calibrations not yet certified: F1, F2, F3, F4, F5 and 2 more; ESO switches to certified ones, typically two working days later, and `datapin outdated` will then show the swap"])
    }
}
