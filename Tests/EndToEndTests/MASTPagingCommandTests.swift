import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin lock` against a MAST whose paging never finishes: exit 6 with the archive named,
/// after a handful of requests, and no lock written.
@Suite struct MASTPagingCommandTests {
    struct FaultCase: Sendable, CustomTestStringConvertible {
        var label: String
        var fault: FakeMAST.PagingFault
        var dataset: String
        var reason: String
        var testDescription: String { label }
    }

    static let cases: [FaultCase] = [
        FaultCase(label: "empty search pages", fault: .emptyPagesForever, dataset: "{archive: mast, mission: jwst, where: {program: '02734'}}", reason: "has no rows"),
        FaultCase(label: "a repeated search page", fault: .repeatsFirstPage, dataset: "{archive: mast, mission: jwst, where: {program: '02734'}}", reason: "repeats only rows already received"),
        FaultCase(label: "empty Portal pages", fault: .emptyPagesForever, dataset: "{archive: mast, obsids: ['2003738726']}", reason: "has no rows"),
        FaultCase(label: "a repeated Portal page", fault: .repeatsFirstPage, dataset: "{archive: mast, obsids: ['2003738726']}", reason: "repeats only rows already received"),
    ]

    @Test(arguments: cases)
    func endlessPagingIsAnArchiveError(_ row: FaultCase) throws {
        let datasets = (1...3).map { index in
            FakeMAST.MissionDataset(mission: "jwst", id: "jw02734001001_0210\(index)_00001", columns: ["program": "02734"], instrument: "NIRISS", filters: "CLEAR", files: [
                .init("jw02734001001_0210\(index)_00001_cal.fits", category: "2b", fileSuffix: "_cal"),
            ])
        }
        let observations = [
            FakeMAST.Observation(obsid: "2003738726", collection: "HST", obsID: "U9O40504M", files: (1...4).map { .init("u9o40504m_\($0).fits", subGroup: "C\($0)F", calibLevel: 2) }),
        ]
        let archive = try FakeMAST(datasets: datasets, observations: observations, executingAnswers: 0, pagingFault: row.fault)
        defer { archive.shutdown() }
        let directory = try TestEnvironment.makeScratchDirectory("mast-paging")
        try """
        version: 1
        destination: data
        archives:
          mast: {url: "\(archive.baseURL)"}
        datasets:
          - \(row.dataset)
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let result = try Datapin.run(["lock"], in: directory)
        #expect(result.status == 6, "\(row.label): \(result.stderr)")
        #expect(result.stderr.contains("is not what the archive documents") && result.stderr.contains(row.reason), "\(row.label): \(result.stderr)")
        #expect(archive.requests.count < 10)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }
}
