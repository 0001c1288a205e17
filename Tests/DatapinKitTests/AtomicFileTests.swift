import DatapinKit
@testable import DatapinSupport
@testable import DatapinSync
import Foundation
import Testing
import TestSupport

/// The pid of a process that has exited and been reaped.
private func deadProcessID() throws -> pid_t {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}

/// The name an atomic write by `pid` gives its temporary beside `target` (the fault-injection
/// suite looks for the same pattern).
private func temporaryName(_ target: String, pid: pid_t) -> String {
    ".\(target).\(pid).tmp"
}

private func names(in folder: URL) throws -> Set<String> {
    Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
}

@Suite struct AtomicFileTests {
    @Test func aWriteRemovesItsTargetsTemporariesLeftByWritersThatAreGone() throws {
        let folder = try TestEnvironment.makeScratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(at: folder) }
        let dead = try deadProcessID()
        let live = getppid()
        let stale = temporaryName("datapin.lock", pid: dead)
        let running = temporaryName("datapin.lock", pid: live)
        let otherTarget = temporaryName("datapin.yaml", pid: dead)
        for name in [stale, running, otherTarget] {
            try Data("half a lock".utf8).write(to: folder.appendingPathComponent(name))
        }

        try AtomicFile.write("the lock\n", to: folder.appendingPathComponent("datapin.lock"))

        #expect(try names(in: folder) == ["datapin.lock", running, otherTarget])
        #expect(try String(contentsOf: folder.appendingPathComponent("datapin.lock"), encoding: .utf8) == "the lock\n")
    }

    @Test func theSyncStateIsWrittenThroughTheSameAtomicWrite() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        try FileManager.default.createDirectory(at: scratch.tree.stateDirectory, withIntermediateDirectories: true)
        let stale = temporaryName(StateCache.fileName, pid: try deadProcessID())
        try Data("half a state".utf8).write(to: scratch.tree.stateDirectory.appendingPathComponent(stale))
        let cache = StateCache.load(from: scratch.tree)
        cache.record("f", stat: FileStat(size: 4, mtimeNanoseconds: 10, inode: 7), sha256: SyncScratch.sha256("abcd"))

        try cache.save()

        #expect(try names(in: scratch.tree.stateDirectory) == [StateCache.fileName])
    }

    @Test func aWrittenFileGetsTheModeOfAnOrdinaryNewFileAndNoTemporaryStays() throws {
        let folder = try TestEnvironment.makeScratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(at: folder) }
        let ordinary = open(folder.appendingPathComponent("ordinary").path, O_WRONLY | O_CREAT, 0o644)
        #expect(ordinary >= 0)
        close(ordinary)

        try AtomicFile.write("first\n", to: folder.appendingPathComponent("datapin.lock"))
        try AtomicFile.write("second\n", to: folder.appendingPathComponent("datapin.lock"))

        let mode = { (name: String) in (try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)[.posixPermissions] as? Int) }
        #expect(try mode("datapin.lock") == mode("ordinary"))
        #expect(try names(in: folder) == ["datapin.lock", "ordinary"])
        #expect(try String(contentsOf: folder.appendingPathComponent("datapin.lock"), encoding: .utf8) == "second\n")
    }
}
