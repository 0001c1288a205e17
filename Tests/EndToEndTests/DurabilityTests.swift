import DatapinKit
import Foundation
import Testing
import TestSupport

private let straceCommand = ["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// `datapin sync --durability`: how verified bytes are flushed before their rename, counted from
/// the system calls the binary makes (strace), and a sync that places every file whichever is chosen.
@Suite(.enabled(if: straceCommand != nil, "needs strace (scripts/install-prerequisites --tests)"))
struct DurabilityTests {
    static let strace = straceCommand

    static let files: [String: Data] = Dictionary(uniqueKeysWithValues: (0..<6).map { ("d\($0)_cal.fits", SyncCommandTests.bytes(20_000 + $0, seed: UInt8($0))) })

    /// The `fdatasync` and `syncfs` calls of one `datapin sync --durability mode` into an empty tree.
    static func flushes(_ mode: String) throws -> (fdatasync: Int, syncfs: Int, result: CommandResult) {
        let (project, server) = try SyncCommandTests.lockedProject(files: files)
        defer { server.shutdown() }
        let trace = project.directory.appendingPathComponent("flushes.trace")
        let result = try ChildProcess.run(try #require(strace), ["-f", "-qq", "-e", "trace=fdatasync,syncfs", "-o", trace.path,
                                                                   TestEnvironment.datapinBinary.path, "sync", "--durability", mode, "--no-progress"],
                                          in: project.directory, environment: ["PATH": "/usr/bin:/bin", "HOME": project.directory.path, "LANG": "C.UTF-8"])
        let lines = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n")
        for (name, data) in files { #expect(project.local(name) == data, "\(mode): \(name)") }
        #expect(try project.run(["verify"]).status == 0)
        return (lines.filter { $0.contains("fdatasync(") }.count, lines.filter { $0.contains("syncfs(") }.count, result)
    }

    @Test func fileFlushesEachFileOnItsOwn() throws {
        let counted = try Self.flushes("file")
        #expect(counted.result.status == 0, "\(counted.result.stderr)")
        #expect(counted.fdatasync >= Self.files.count && counted.syncfs == 0, "\(counted)")
    }

    @Test func noneFlushesNothing() throws {
        let counted = try Self.flushes("none")
        #expect(counted.result.status == 0, "\(counted.result.stderr)")
        #expect(counted.fdatasync == 0 && counted.syncfs == 0, "\(counted)")
    }

    @Test func batchedFlushesEveryFileInFewerCalls() throws {
        let counted = try Self.flushes("batched")
        #expect(counted.result.status == 0, "\(counted.result.stderr)")
        #expect(counted.fdatasync + counted.syncfs >= 1, "\(counted)")
        #expect(counted.fdatasync + counted.syncfs <= Self.files.count, "\(counted)")
    }

    @Test func anUnknownModeIsAUsageError() throws {
        let (project, server) = try SyncCommandTests.lockedProject(files: SyncCommandTests.small)
        defer { server.shutdown() }
        let result = try project.run(["sync", "--durability", "fast"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("batched, file, none") || result.stderr.contains("'fast'"), "\(result.stderr)")
        #expect(project.local("a_cal.fits") == nil)
    }
}
