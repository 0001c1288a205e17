import DatapinKit
import Foundation
import Testing
import TestSupport

/// A sync that outlives its ESO id_token: the loopback ESO grants tokens living 3 s and holds
/// every answer back, so that fetching the proprietary frames one at a time takes several
/// lifetimes; the token must be granted again and every file must arrive.
@Suite struct ESOTokenRenewalTests {
    static let proprietary = (1...8).map { "FORS2.2026-11-30T01:03:0\($0).456" }

    @Test func aTokenExpiringDuringASyncIsGrantedAgainAndEveryProprietaryFileArrives() throws {
        let archive = try ESOCommandTests.archive { configuration in
            for dpID in Self.proprietary {
                configuration.frames.append(FakeESO.Frame(dpID, releaseDate: "2099-11-30T01:02:03.456Z"))
                configuration.proprietary.insert(dpID)
            }
        }
        defer { archive.shutdown() }
        let directory = try ESOCommandTests.project(archive, credentials: ESOCommandTests.credentialKeys, """
        datasets:
          - archive: eso
            ids: [\(Self.proprietary.joined(separator: ", "))]
        """)
        let environment = ["ESO_USER": ESOCommandTests.user, "ESO_PASSWORD": ESOCommandTests.password]
        let locked = try ESOCommandTests.run(["lock"], in: directory, environment: environment)
        try #require(locked.status == 0, "\(locked.stderr)")
        let grantsBefore = archive.issuedTokens.count

        archive.update { configuration in
            configuration.tokenLifetime = 3
            configuration.answerDelayMilliseconds = 700
        }
        let started = Date()
        let synced = try ESOCommandTests.run(["sync", "--jobs", "1"], in: directory, environment: environment)
        let seconds = Date().timeIntervalSince(started)
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(seconds > 4, "the sync outlived at least two token lifetimes (\(seconds) s)")

        let granted = Array(archive.issuedTokens.dropFirst(grantsBefore))
        #expect(granted.count >= 2, "the grant was asked again during the sync: \(granted.count) grant(s) in \(seconds) s")
        for dpID in Self.proprietary {
            let placed = directory.appendingPathComponent("data/\(dpID)/\(dpID).fits.Z")
            #expect(try Data(contentsOf: placed) == archive.bytes(of: dpID), "\(dpID)")
        }
        let downloads = archive.requests.filter { request in Self.proprietary.contains { request.path == "/dataPortal/file/\($0)" } }
        let bearers = Set(downloads.compactMap { $0.header("Authorization") })
        #expect(bearers.count >= 2, "later downloads carried a renewed token")
        // A token is renewed a quarter of its life before `exp`; on a busy machine a request
        // can still reach the portal just after it, be refused once and be asked again with a
        // new token. Renewals ahead of `exp` must outnumber those refusals.
        let refusedOnce = Self.proprietary.filter { archive.downloadCounts[$0, default: 0] > 1 }
        #expect(Self.proprietary.allSatisfy { archive.downloadCounts[$0, default: 0] <= 2 }, "\(archive.downloadCounts)")
        #expect(granted.count - 1 > refusedOnce.count, "renewed before expiry, not only after refusals: \(granted.count) grants, \(refusedOnce.count) refused")
        #expect(bearers.isSubset(of: Set(granted.map { "Bearer \($0)" })), "only tokens granted during the sync")
        try ESOCommandTests.expectNoSecret([ESOCommandTests.password] + archive.issuedTokens, in: directory, outputs: [locked, synced])
    }
}
