import Foundation
import DatapinKit
import Testing

@Suite struct ShardTests {
    static let paths = (0..<4000).map { "jw02734001001_02101_\(String(format: "%05d", $0 / 4))/seg\($0 % 4)_nis_cal.fits" }

    @Test(arguments: [
        ("3/16", [:], 3, 16), ("0/1", [:], 0, 1),
        ("auto", ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "16"], 5, 16),
        ("auto", ["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "16"], 5, 16),
        ("auto/8", ["JOB_COMPLETION_INDEX": "7"], 7, 8),
        ("auto/8", ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "16"], 2, 8),
    ] as [(String, [String: String], Int, Int)])
    func parsesKOfNAndTheSchedulersVariables(text: String, environment: [String: String], index: Int, count: Int) throws {
        let shard = try Shard.parse(text, environment: environment)
        #expect(shard.index == index && shard.count == count)
    }

    @Test(arguments: [
        ("16/16", [:], Shard.ParseError.outOfRange(index: 16, count: 16)), ("-1/4", [:], .outOfRange(index: -1, count: 4)),
        ("3", [:], .malformed("3")), ("3/0", [:], .malformed("3/0")), ("a/b", [:], .malformed("a/b")), ("1/2/3", [:], .malformed("1/2/3")),
        ("auto", [:], .noScheduler), ("auto", ["JOB_COMPLETION_INDEX": "1"], .missingCount(variable: "JOB_COMPLETION_INDEX")),
        ("auto/4", ["JOB_COMPLETION_INDEX": "4"], .outOfRange(index: 4, count: 4)),
    ] as [(String, [String: String], Shard.ParseError)])
    func refusesWhatIsNotAShard(text: String, environment: [String: String], error: Shard.ParseError) {
        #expect(throws: error) { try Shard.parse(text, environment: environment) }
    }

    @Test func theShardsTogetherHoldEveryFileOnce() throws {
        let shards = try (0..<16).map { try Shard(index: $0, count: 16) }
        for path in Self.paths {
            #expect(shards.filter { $0.contains(path) }.count == 1)
        }
    }

    @Test func addingFilesMovesNoOtherFile() {
        let before = Self.paths.map { Shard.shard(of: $0, count: 16) }
        let more = Self.paths + (0..<2000).map { "added/\($0).fits" }
        #expect(Array(more.prefix(Self.paths.count)).map { Shard.shard(of: $0, count: 16) } == before)
    }

    @Test func manyFilesSpreadEvenly() {
        var counts = [Int](repeating: 0, count: 16)
        for path in Self.paths { counts[Shard.shard(of: path, count: 16)] += 1 }
        let mean = Double(Self.paths.count) / 16
        #expect(counts.allSatisfy { abs(Double($0) - mean) < 0.2 * mean }, "\(counts)")
    }

    @Test func bytesSpreadEvenlyWhenFilesAreMany() {
        // Sizes from 1 kB to 1 GB, spread over six orders of magnitude (a deterministic sequence).
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        var bytes = [Int64](repeating: 0, count: 16)
        for path in Self.paths {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let size = Int64(pow(10, 3 + Double(state >> 11) / Double(1 << 53) * 6))
            bytes[Shard.shard(of: path, count: 16)] += size
        }
        let mean = Double(bytes.reduce(0, +)) / 16
        #expect(bytes.allSatisfy { abs(Double($0) - mean) < 0.35 * mean }, "\(bytes.map { $0 >> 20 }) MiB")
    }
}
