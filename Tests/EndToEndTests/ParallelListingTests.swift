import DatapinKit
import Foundation
import Testing
import TestSupport

/// `lock` asks every dataset entry at once against a loopback MAST whose answers are delayed.
@Suite struct ParallelListingTests {
    /// `count` JWST datasets of two files each, one `datasets:` entry per dataset.
    static func archive(count: Int, delay: ClosedRange<Int>) throws -> (FakeMAST, String) {
        let ids = (1...count).map { String(format: "jw0%04d001001_02101_00001", $0) }
        let datasets = ids.map { id in
            FakeMAST.MissionDataset(mission: "jwst", id: id, instrument: "NIRISS", filters: "CLEAR", files: [
                FakeMAST.MissionFile("\(id)_nis_cal.fits", category: "2b", fileSuffix: "_cal"),
                FakeMAST.MissionFile("\(id)_nis_rate.fits", category: "2a", fileSuffix: "_rate"),
            ])
        }
        let entries = ids.map { "  - {archive: mast, mission: jwst, ids: [\($0)]}" }.joined(separator: "\n")
        return (try FakeMAST(datasets: datasets, answerDelayMilliseconds: delay), "datasets:\n" + entries + "\n")
    }

    static func lock(_ archive: FakeMAST, _ body: String, jobs: Int? = nil) throws -> String {
        let project = try MASTCommandTests.project(archive, body)
        let result = try Datapin.run(["lock"] + (jobs.map { ["--jobs", String($0)] } ?? []), in: project)
        #expect(result.status == 0, "\(result.stderr)")
        return try String(contentsOf: project.appendingPathComponent("datapin.lock"), encoding: .utf8)
    }

    /// Answers arriving in random order (0–60 ms each) give the same lock, byte for byte.
    @Test func theLockIsTheSameWhateverOrderAnswersArriveIn() throws {
        let (archive, body) = try Self.archive(count: 24, delay: 0...60)
        defer { archive.shutdown() }
        let first = try Self.lock(archive, body)
        #expect(first.contains("jw00001001001_02101_00001_nis_cal.fits"))
        for _ in 0..<3 {
            #expect(try Self.lock(archive, body) == first)
        }
    }

    /// With every answer 150 ms late, no 150 ms window sees more requests than `--jobs`; and
    /// the entries are asked at once (more than one request in such a window).
    @Test(arguments: [2, 6])
    func requestsToOneHostStayWithinJobs(jobs: Int) throws {
        let (archive, body) = try Self.archive(count: 18, delay: 150...150)
        defer { archive.shutdown() }
        _ = try Self.lock(archive, body, jobs: jobs)
        let most = archive.mostRequestsArrivingWithin(milliseconds: 140)
        #expect(most <= jobs)
        #expect(most == jobs, "the entries were not asked concurrently")
    }
}
