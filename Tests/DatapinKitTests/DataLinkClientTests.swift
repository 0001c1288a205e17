import DatapinKit
@testable import DatapinArchives
import Foundation
import Testing
import TestSupport

@Suite struct DataLinkClientTests {
    /// ESO-shaped IDs: the `?` and the `:` of a dp_id are part of the ID.
    static let ids = (1...5).map { "ivo://eso.org/ID?FORS2.2021-01-02T00:59:12.53\($0)" }

    static func frame(_ id: String) -> [FakeTAP.Link] {
        let dpID = String(id.split(separator: "?").last!)
        return [
            .init(accessURL: "https://dataportal.eso.org/dataPortal/file/\(dpID)", semantics: "#this", contentType: "application/x-fits", contentLength: 11_234_880, origfile: "\(dpID).fits.Z"),
            .init(accessURL: "https://archive.eso.org/calselector/v1/associations?dp_id=\(dpID)&mode=Raw2Raw", semantics: "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2raw", contentLength: 500_000),
            .init(serviceDef: "soda-\(dpID)", semantics: "#cutout"),
        ]
    }

    static func service(_ fake: FakeTAP, batchSize: Int = 100) -> DataLinkService {
        DataLinkService(url: fake.dataLinkURL, connection: VOConnection(archiveName: "eso", client: HTTPClient(), timeoutSeconds: 30), batchSize: batchSize)
    }

    static func error(_ body: () async throws(ArchiveError) -> DataLinkAnswer) async -> ArchiveError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    static func askedIDs(_ fake: FakeTAP) -> [[String]] {
        fake.requests.map { FakeTAP.formItems($0).filter { $0.name == "ID" }.map(\.value) }
    }

    @Test func manyIDsGoInOnePostAndEveryRowIsKept() async throws {
        let fake = try FakeTAP(.init(links: Dictionary(uniqueKeysWithValues: Self.ids.map { ($0, Self.frame($0)) })))
        defer { fake.shutdown() }
        let answer = try await Self.service(fake).links(for: Self.ids + [Self.ids[0]])
        #expect(answer.requests == 1)
        #expect(Self.askedIDs(fake) == [Self.ids])
        #expect(fake.requests[0].bodyText.hasPrefix("ID=ivo%3A%2F%2Feso.org%2FID%3FFORS2.2021-01-02T00%3A59%3A12.531&ID="))
        #expect(answer.ids == Self.ids)
        let this = try #require(answer.this(for: Self.ids[2]))
        #expect(this.accessURL == "https://dataportal.eso.org/dataPortal/file/FORS2.2021-01-02T00:59:12.533")
        #expect(this.contentLength == 11_234_880)
        #expect(this.contentType == "application/x-fits")
        #expect(this.row.string("eso_origfile") == "FORS2.2021-01-02T00:59:12.533.fits.Z")
        let links = answer.links(for: Self.ids[2])
        #expect(links.map(\.semantics) == ["#this", "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2raw", "#cutout"])
        #expect(links[2].target == .serviceDef("soda-FORS2.2021-01-02T00:59:12.533"))
        #expect(links[2].contentLength == nil)
        #expect(answer.serviceDescriptors["soda-FORS2.2021-01-02T00:59:12.533"]?.param(named: "accessURL")?.value == .string("http://127.0.0.1/soda"))
    }

    @Test func anOverflowIsFollowedByAskingForTheIDsNotYetAnswered() async throws {
        let fake = try FakeTAP(.init(links: Dictionary(uniqueKeysWithValues: Self.ids.map { ($0, Self.frame($0)) }), linkCap: 2))
        defer { fake.shutdown() }
        let answer = try await Self.service(fake).links(for: Self.ids)
        #expect(answer.requests == 3)
        #expect(Self.askedIDs(fake) == [Self.ids, Array(Self.ids[2...]), [Self.ids[4]]])
        #expect(Self.ids.allSatisfy { answer.links(for: $0).count == 3 })
    }

    @Test func batchesAreAskedSeparately() async throws {
        let fake = try FakeTAP(.init(links: Dictionary(uniqueKeysWithValues: Self.ids.map { ($0, Self.frame($0)) })))
        defer { fake.shutdown() }
        let answer = try await Self.service(fake, batchSize: 2).links(for: Self.ids)
        #expect(answer.requests == 3)
        #expect(Set(Self.askedIDs(fake)) == [Array(Self.ids[0...1]), Array(Self.ids[2...3]), [Self.ids[4]]])
        #expect(Self.ids.allSatisfy { answer.this(for: $0) != nil })
    }

    @Test func anErrorRowIsAnErrorNamingTheID() async throws {
        let unknown = "ivo://eso.org/ID?FORS2.1999-01-01T00:00:00.000"
        let refused = "ivo://eso.org/ID?FORS2.2000-01-01T00:00:00.000"
        let fake = try FakeTAP(.init(links: [
            Self.ids[0]: Self.frame(Self.ids[0]),
            refused: [.init(errorMessage: "UsageFault: the ID is not a dataset", semantics: "#this")],
        ]))
        defer { fake.shutdown() }
        let service = Self.service(fake)
        let notFound = await Self.error { () throws(ArchiveError) in try await service.links(for: [Self.ids[0], unknown]) }
        #expect(notFound == .unknownDataset(archive: "eso", dataset: unknown))
        let usage = await Self.error { () throws(ArchiveError) in try await service.links(for: [refused]) }
        #expect(usage?.message == "archive 'eso' cannot do this: DataLink answered an error for the ID 'ivo://eso.org/ID?FORS2.2000-01-01T00:00:00.000': UsageFault: the ID is not a dataset")
    }

    @Test func aRowWithoutExactlyOneTargetIsRefused() async throws {
        let fake = try FakeTAP(.init(links: [
            Self.ids[0]: [.init(accessURL: "https://x/file", serviceDef: "soda", semantics: "#this")],
            Self.ids[1]: [.init(semantics: "#this")],
        ]))
        defer { fake.shutdown() }
        let service = Self.service(fake)
        let both = await Self.error { () throws(ArchiveError) in try await service.links(for: [Self.ids[0]]) }
        #expect(both == .malformedAnswer(url: fake.dataLinkURL, reason: "row 1 (ID '\(Self.ids[0])') has 2 of access_url, service_def and error_message; DataLink rows have exactly one"))
        let neither = await Self.error { () throws(ArchiveError) in try await service.links(for: [Self.ids[1]]) }
        #expect(neither == .malformedAnswer(url: fake.dataLinkURL, reason: "row 1 (ID '\(Self.ids[1])') has 0 of access_url, service_def and error_message; DataLink rows have exactly one"))
    }

    @Test func anOverflowWithoutRowsStopsInsteadOfAskingForEver() async throws {
        let fake = try FakeTAP(.init(links: [Self.ids[0]: Self.frame(Self.ids[0])], linkCap: 0))
        defer { fake.shutdown() }
        let service = Self.service(fake)
        let error = await Self.error { () throws(ArchiveError) in try await service.links(for: [Self.ids[0]]) }
        #expect(error == .malformedAnswer(url: fake.dataLinkURL, reason: "it answered OVERFLOW without a single row, so asking again would never end"))
        #expect(fake.requests.count == 1)
    }
}
