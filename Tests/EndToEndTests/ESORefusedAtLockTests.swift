import DatapinKit
import Foundation
import Testing
import TestSupport

/// A proprietary frame whose release date is already past (an extended embargo) is known only
/// by DataLink's refusal: without credentials it is locked as exclusive, not a lock failure,
/// and skipped by sync with one warning; with credentials it locks with its exact name and
/// size and syncs.
@Suite struct ESORefusedAtLockTests {
    static let frame = ESOCommandTests.frame
    static let embargoed = "FORS2.2025-06-01T01:02:03.456"

    static func archive() throws -> FakeESO {
        try ESOCommandTests.archive { configuration in
            configuration.frames.append(FakeESO.Frame(Self.embargoed, releaseDate: "2025-12-01T00:00:00.000Z"))
            configuration.proprietary.insert(Self.embargoed)
            configuration.datalinkRefusesProprietary = true
        }
    }

    static func project(_ archive: FakeESO) throws -> URL {
        try ESOCommandTests.project(archive, credentials: ESOCommandTests.credentialKeys, """
        datasets:
          - archive: eso
            ids: [\(frame), \(embargoed)]
        """)
    }

    static func block(_ directory: URL, path: String) throws -> String {
        try #require(try ESOCommandTests.lock(directory).components(separatedBy: "- path: ").first { $0.hasPrefix("\(path)\n") }, "no block for \(path)")
    }

    @Test func aFrameDataLinkRefusesWithoutCredentialsIsLockedExclusiveAndSkippedBySync() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive)
        let locked = try ESOCommandTests.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        let path = "\(Self.embargoed)/\(Self.embargoed).fits.Z"
        let entry = try Self.block(directory, path: path)
        #expect(entry.contains("access: exclusive"), "\(entry)")
        #expect(entry.contains("url: \(archive.baseURL)/dataPortal/file/\(Self.embargoed)"), "dbo.raw's access_url: \(entry)")
        #expect(!entry.contains("size: "), "DataLink gave no size; the first download pins it: \(entry)")
        #expect(try Self.block(directory, path: "\(Self.frame)/\(Self.frame).fits.Z").contains("access: public"))
        let links = archive.requests.filter { $0.path == "/datalink/links" }
        #expect(links.count == 3, "the refused batch, then each ID alone: \(links.count)")

        let synced = try ESOCommandTests.run(["sync"], in: directory)
        #expect(synced.status == 5, "\(synced.stderr)")
        let warnings = synced.stderr.split(separator: "\n").filter { $0.contains("exclusive-access") }
        #expect(warnings.count == 1 && warnings.first?.contains("ESO_USER and ESO_PASSWORD") == true, "\(synced.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.frame)/\(Self.frame).fits.Z").path))
        #expect(archive.downloadCounts[Self.embargoed] == nil)
        #expect(archive.authorizedRequests.isEmpty)
    }

    @Test func withCredentialsTheSameFrameLocksWithItsExactSizeAndSyncs() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive)
        #expect(try ESOCommandTests.run(["lock"], in: directory).status == 0)
        let environment = ["ESO_USER": ESOCommandTests.user, "ESO_PASSWORD": ESOCommandTests.password]
        let relocked = try ESOCommandTests.run(["lock", "--update", Self.embargoed], in: directory, environment: environment)
        #expect(relocked.status == 0, "\(relocked.stderr)")
        let bytes = try #require(archive.bytes(of: Self.embargoed))
        let entry = try Self.block(directory, path: "\(Self.embargoed)/\(Self.embargoed).fits.Z")
        #expect(entry.contains("size: \(bytes.count)\n") && entry.contains("access: public"), "DataLink's exact size; released: \(entry)")
        let synced = try ESOCommandTests.run(["sync"], in: directory, environment: environment)
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("data/\(Self.embargoed)/\(Self.embargoed).fits.Z")) == bytes)
        try ESOCommandTests.expectNoSecret([ESOCommandTests.password] + archive.issuedTokens, in: directory, outputs: [relocked, synced])
    }

    @Test func withATokenDataLinkRefusesTheLockFailsNamingTheVariable() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try ESOCommandTests.project(archive, credentials: ", token_env: ESO_TOKEN", """
        datasets:
          - archive: eso
            ids: [\(Self.frame), \(Self.embargoed)]
        """)
        let token = "a-token-eso-never-granted"
        let locked = try ESOCommandTests.run(["lock"], in: directory, environment: ["ESO_TOKEN": token])
        #expect(locked.status == 5, "\(locked.stderr)")
        #expect(locked.stderr.contains("ESO_TOKEN"), "\(locked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
        try ESOCommandTests.expectNoSecret([token], in: directory, outputs: [locked])
    }
}
