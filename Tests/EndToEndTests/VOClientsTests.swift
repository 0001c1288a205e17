import Foundation
import Testing
import TestSupport

/// The Python that has pyvo, from DATAPIN_VO_PYTHON; nil when it is not set.
private let voPython = ProcessInfo.processInfo.environment["DATAPIN_VO_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

/// pyvo pointed at the loopback TAP service with `type: vo`'s ObsCore answers
/// (scripts/lib/vo_check.py): the fake must answer what pyvo asks, the way it expects it. Runs
/// when DATAPIN_VO_PYTHON names a Python with pyvo (scripts/check-fake-vo sets one up).
@Suite(.enabled(if: voPython != nil, "set DATAPIN_VO_PYTHON (scripts/check-fake-vo)"))
struct VOClientsTests {
    struct Answers: Decodable {
        struct Row: Decodable, Equatable {
            var obs_publisher_did: String
            var obs_id: String
            var access_url: String
            var access_format: String
            var access_estsize: Int?
            var calib_level: Int?
        }
        struct Link: Decodable, Equatable { var access_url: String; var content_length: Int }
        var version: String
        var sync: [Row]
        var estsize_unit: String
        var async: [String]
        var this: [String: Link]
        var batched: [String: String]
        var cached: [String: Int]
    }

    @Test func pyvoReadsTheObsCoreRowsFollowsDataLinkAndFetchesTheFiles() throws {
        let fake = try VOCommandTests.service()
        defer { fake.shutdown() }
        let downloads = try TestEnvironment.makeScratchDirectory("vo-downloads")
        let result = try PythonClientCheck.run(python: try #require(voPython), script: "vo_check.py",
                                               ["--tap", fake.tapURL, "--query", VOCommandTests.query, "--destination", downloads.path], astroqueryConfig: "")
        try #require(result.status == 0, "vo_check.py failed: \(result.stderr)")
        let answers = try JSONDecoder().decode(Answers.self, from: Data(result.stdout.utf8))
        let base = String(fake.tapURL.dropLast("/tap".count))
        #expect(answers.version == "1.10.0")
        #expect(answers.sync.map(\.obs_publisher_did) == VOCommandTests.records.map(\.publisherDID))
        #expect(answers.sync.map(\.access_url) == VOCommandTests.records.map { $0.accessURL.replacingOccurrences(of: FakeTAP.basePlaceholder, with: base) })
        #expect(answers.sync.map(\.access_estsize) == VOCommandTests.records.map { $0.estimatedKilobytes.map(Int.init) })
        #expect(answers.sync.map(\.calib_level) == VOCommandTests.records.map(\.calibLevel))
        #expect(answers.estsize_unit == "kbyte")
        #expect(answers.async == VOCommandTests.records.map(\.publisherDID), "UWS: create, run, poll, read, delete")
        let spectrum = Answers.Link(access_url: "\(base)/files/c1_spectrum.fits", content_length: VOCommandTests.spectrumBytes.count)
        #expect(answers.this == [VOCommandTests.spectrumID: spectrum])
        #expect(answers.batched == [VOCommandTests.spectrumID: spectrum.access_url])
        #expect(answers.cached == [
            VOCommandTests.records[0].publisherDID: VOCommandTests.plateEBytes.count,
            VOCommandTests.records[1].publisherDID: VOCommandTests.plateFBytes.count,
            VOCommandTests.records[3].publisherDID: VOCommandTests.dBytes.count,
        ])
    }
}
