import DatapinKit
import Foundation
import Synchronization
import Testing
import TestSupport

/// `datapin sync --shard K/N` as a job array runs it: N shards of one lock started at the same
/// time into one tree, against a real loopback HTTP server.
@Suite struct ShardedSyncTests {
    typealias Project = SyncCommandTests.Project

    /// 40 files of 16–30 kB, locked without checksums, so every shard has pins to write.
    static let files: [String: Data] = Dictionary(uniqueKeysWithValues: (0..<40).map { index in
        ("f\(String(format: "%02d", index))_cal.fits", SyncCommandTests.bytes(16_000 + index * 350, seed: UInt8(index)))
    })

    static func paths(of shard: Int) -> [String] {
        files.keys.map { "ds1/\($0)" }.filter { Shard.shard(of: $0, count: 4) == shard }
    }

    @Test func fourShardsAtOnceTogetherPlaceEveryFileOnceAndPinItInTheLock() throws {
        // Every file answers slowly (three chunks 100 ms apart), so the shards overlap.
        let (project, server) = try SyncCommandTests.lockedProject(files: Self.files, pinned: false) { request, _ in
            guard let data = Self.files[String(request.path.dropFirst("/ds1/".count))] else { return nil }
            return LoopbackResponse.serving(data, for: request).with(fault: .slow(chunkSize: 8_192, delayMilliseconds: 100))
        }
        defer { server.shutdown() }
        #expect((0..<4).allSatisfy { !Self.paths(of: $0).isEmpty }, "each shard has files")

        let results = Mutex<[Int: CommandResult]>([:])
        DispatchQueue.concurrentPerform(iterations: 4) { shard in
            let result = try? project.run(["sync", "--shard", "\(shard)/4", "--jobs", "2", "--no-progress"])
            results.withLock { $0[shard] = result }
        }
        for shard in 0..<4 {
            let result = try #require(results.withLock { $0[shard] })
            #expect(result.status == 0, "shard \(shard): \(result.stderr)")
            #expect(result.stderr.contains("Shard \(shard)/4: synced \(Self.paths(of: shard).count) file"), "\(result.stderr)")
        }

        let downloads = server.requests.filter { $0.path.hasPrefix("/ds1/") && $0.method == "GET" }
        #expect(downloads.count == Self.files.count, "each file fetched once")
        #expect(Set(downloads.map(\.path)).count == Self.files.count)
        for (name, data) in Self.files { #expect(project.local(name) == data, "\(name)") }

        let lock = try LockReader.read(contentsOf: project.directory.appendingPathComponent("datapin.lock").path)
        #expect(lock.files.count == Self.files.count)
        for entry in lock.files {
            let name = String(entry.path.dropFirst("ds1/".count))
            #expect(entry.sha256 == SyncCommandTests.sha256(try #require(Self.files[name])), "\(entry.path) pinned by its shard")
        }
        let state = project.directory.appendingPathComponent(".datapin")
        let stateFiles = try FileManager.default.contentsOfDirectory(atPath: state.path)
        #expect(!stateFiles.contains { $0.hasPrefix(PinJournal.fileName) }, "every shard's journal is folded: \(stateFiles)")
        #expect(stateFiles.filter { $0.hasPrefix("\(StateCache.fileName).") }.count == 4, "each shard kept its own state cache: \(stateFiles)")
        #expect(!FileManager.default.fileExists(atPath: project.data.appendingPathComponent("MANIFEST.html").path), "shards write no manifest")
        #expect(results.withLock { $0[0] }?.stderr.contains("The manifest is written by the next `datapin sync` without --shard") == true)

        let status = try project.run(["status", "--check"])
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("Clean: 40 files match datapin.lock"), "\(status.stdout)")
        let shardStatus = try project.run(["status", "--check", "--shard", "1/4"])
        #expect(shardStatus.status == 0, "\(shardStatus.stdout)")
        #expect(shardStatus.stdout.contains("Clean: \(Self.paths(of: 1).count) files of shard 1/4 match datapin.lock"), "no other shard's file is extra: \(shardStatus.stdout)")
        let shardVerify = try project.run(["verify", "--shard", "2/4"])
        #expect(shardVerify.status == 0, "\(shardVerify.stdout)")
        #expect(shardVerify.stdout.contains("Verified \(Self.paths(of: 2).count) files"), "\(shardVerify.stdout)")

        let unsharded = try project.run(["sync", "--no-progress"])
        #expect(unsharded.status == 0, "\(unsharded.stderr)")
        #expect(unsharded.stderr.contains("Up to date: 40 files in place"), "\(unsharded.stderr)")
        #expect(FileManager.default.fileExists(atPath: project.data.appendingPathComponent("MANIFEST.html").path), "the unsharded sync writes the manifest")
        let after = try FileManager.default.contentsOfDirectory(atPath: state.path)
        #expect(!after.contains { $0.hasPrefix("\(StateCache.fileName).") }, "the shards' caches are taken in: \(after)")
        #expect(server.requests.filter { $0.path.hasPrefix("/ds1/") }.count == downloads.count, "nothing fetched again")
    }

    @Test func aShardRefusesPruneAndAShardOutOfRange() throws {
        let (project, server) = try SyncCommandTests.lockedProject(files: SyncCommandTests.small)
        defer { server.shutdown() }
        let prune = try project.run(["sync", "--shard", "0/4", "--prune"])
        #expect(prune.status == 2)
        #expect(prune.stderr.contains("--prune cannot be used with --shard 0/4"), "\(prune.stderr)")
        let outOfRange = try project.run(["sync", "--shard", "4/4"])
        #expect(outOfRange.status == 2)
        #expect(outOfRange.stderr.contains("--shard 4/4 is out of range"), "\(outOfRange.stderr)")
        let auto = try project.run(["status", "--shard", "auto"])
        #expect(auto.status == 2)
        #expect(auto.stderr.contains("found neither SLURM_ARRAY_TASK_ID"), "\(auto.stderr)")
        let slurm = try project.run(["sync", "--shard", "auto", "--no-progress"], environment: ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "1"])
        #expect(slurm.status == 0, "\(slurm.stderr)")
        #expect(slurm.stderr.contains("Shard 0/1: synced 3 files"), "\(slurm.stderr)")
        #expect(server.requests.filter { $0.path.hasPrefix("/ds1/") }.count == 3, "nothing was fetched before")
    }
}
