import Foundation
import Testing
import TestSupport

/// What the newcomer's first hour tripped over: counts that read right, an honest `verify`, and
/// no empty working folder left behind.
@Suite struct WordingTests {
    @Test func oneDatasetIsOneDatasetAndAnIndexIsAnIndex() throws {
        let project = try LockCommandTests.quickstartCopy()
        let specURL = project.appendingPathComponent("datapin.yaml")
        let spec = try LockCommandTests.read(specURL).replacingOccurrences(of: "  - archive: quickstart\n    ids: [jw02734-o002_t002_niriss]\n", with: "")
        try spec.write(to: specURL, atomically: true, encoding: .utf8)
        let lock = try Datapin.run(["lock"], in: project)
        #expect(lock.stderr.contains("Locked 3 files (5.9 kB) in 1 dataset: "), "\(lock.stderr)")
        let empty = try TestEnvironment.makeScratchDirectory("init")
        let initialised = try Datapin.run(["init", "--archive", "index"], in: empty)
        #expect(initialised.stderr.contains("for an index archive"), "\(initialised.stderr)")
    }

    @Test func aMistypedOptionOrCommandSuggestsTheNearestCountingASwapAsOneEdit() throws {
        let project = try LockCommandTests.quickstartCopy()
        let expected = [
            (["sync", "--jbos", "4"], "Error: Unknown option '--jbos'. Did you mean '--jobs'?"),
            (["sync", "--shrad", "1/4"], "Error: Unknown option '--shrad'. Did you mean '--shard'?"),
            (["--jsno", "ls"], "Error: Unknown option '--jsno'. Did you mean '--json'?"),
            (["ls", "--formt", "csv"], "Error: Unknown option '--formt'. Did you mean '--format'?"),
            (["snyc"], "Error: Unknown command 'snyc'. Did you mean 'sync'?"),
            (["sync", "--zzzzzz"], "Error: Unknown option '--zzzzzz'\n"),
        ]
        for (arguments, message) in expected {
            let result = try Datapin.run(arguments, in: project)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.hasPrefix(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: project.appendingPathComponent(".datapin").path), "a usage error changes nothing")
    }

    @Test func verifySaysWhichFilesWereCheckedBySizeOnlyAndSyncLeavesNoEmptyPartialFolder() throws {
        let (project, catalog, server) = try OutdatedCommandTests.servedQuickstart()
        defer { server.shutdown() }
        try OutdatedCommandTests.editCatalog(catalog) { _, file in
            var edited = file
            edited["sha256"] = nil
            return edited
        }
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        #expect(try Datapin.run(["sync", "--frozen"], in: project).status != 0, "--frozen refuses a lock that needs pinning")
        let sync = try Datapin.run(["sync"], in: project)
        #expect(sync.status == 0)
        #expect(!FileManager.default.fileExists(atPath: project.appendingPathComponent("data/.datapin-partial").path), "no empty partial folder is left")
        let lockURL = project.appendingPathComponent("datapin.lock")
        let pinned = try LockCommandTests.read(lockURL)
        // Drop one pin again: that file can then be checked by its size only.
        let lines = pinned.split(separator: "\n", omittingEmptySubsequences: false)
        let firstPin = try #require(lines.firstIndex { $0.hasPrefix("  sha256: ") })
        try (lines[..<firstPin] + lines[(firstPin + 1)...]).joined(separator: "\n").write(to: lockURL, atomically: true, encoding: .utf8)
        let verify = try Datapin.run(["verify"], in: project)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("Verified 4 files: 3 match datapin.lock byte for byte, 1 by size only (run `datapin sync` to pin them)"), "\(verify.stdout)")
    }

    @Test func quietStatusAndVerifyPrintOnlyProblemsAndTheHelpNamesTheGlobalOptions() throws {
        let project = try LockCommandTests.quickstartCopy()
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        #expect(try Datapin.run(["sync"], in: project).status == 0)
        for command in ["status", "verify"] {
            let quiet = try Datapin.run([command, "-q"], in: project)
            #expect(quiet.status == 0)
            #expect(quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(command) -q on a clean tree prints nothing: \(quiet.stdout)")
        }
        try Data("changed".utf8).write(to: project.appendingPathComponent("data/\(OutdatedCommandTests.cal)"))
        let status = try Datapin.run(["status", "-q"], in: project)
        #expect(status.stdout.hasPrefix("modified  \(OutdatedCommandTests.cal)"), "\(status.stdout)")
        #expect(!status.stdout.contains("clean,"), "no summary with -q: \(status.stdout)")
        let help = try Datapin.run(["--help"], in: project)
        #expect(help.stdout.contains("-C DIR"), "\(help.stdout)")
        #expect(help.stdout.contains("--generate-completion-script bash"))
    }
}
