import Foundation
import Testing
import TestSupport

/// A file is the same file by its archive and URI, wherever the layout puts it: re-locking after
/// a layout change keeps every pin, and `sync` moves what an earlier sync placed instead of
/// downloading it again, leaving nothing behind.
@Suite struct LayoutChangeTests {
    static func sha256Lines(_ project: URL) throws -> Int {
        try String(contentsOf: project.appendingPathComponent("datapin.lock"), encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("  sha256: ") }.count
    }

    static func relayout(_ project: URL, from old: String, to new: String) throws {
        let url = project.appendingPathComponent("datapin.yaml")
        let spec = try String(contentsOf: url, encoding: .utf8)
        #expect(spec.contains("layout: \(old)\n"))
        try spec.replacingOccurrences(of: "layout: \(old)\n", with: "layout: \(new)\n").write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func aLayoutChangeMovesTheSyncedFilesAndKeepsEveryPin() throws {
        let (project, catalog, server) = try OutdatedCommandTests.servedQuickstart()
        defer { server.shutdown() }
        // Take the catalog's checksums out, so that every pin is one the first sync records.
        try OutdatedCommandTests.editCatalog(catalog) { _, file in
            var edited = file
            edited["sha256"] = nil
            return edited
        }
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        #expect(try Self.sha256Lines(project) == 0)
        let first = try Datapin.run(["sync"], in: project)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(try Self.sha256Lines(project) == 4, "the first sync pins every file")
        let downloads = { server.requests.filter { $0.path != "/catalog.json" }.count }
        #expect(downloads() == 4)

        for (old, new) in [("nested", "flat"), ("flat", "nested")] {
            try Self.relayout(project, from: old, to: new)
            let relock = try Datapin.run(["lock"], in: project)
            #expect(relock.status == 0, "stderr: \(relock.stderr)")
            #expect(try Self.sha256Lines(project) == 4, "re-locking after layout: \(new) keeps every pin")

            let dryRun = try Datapin.run(["sync", "--dry-run"], in: project)
            #expect(dryRun.stdout.contains("Would fetch 0 files (0 B), move 4 already here"), "\(dryRun.stdout)")
            let sync = try Datapin.run(["sync"], in: project)
            #expect(sync.status == 0, "stderr: \(sync.stderr)")
            #expect(sync.stderr.contains("Synced without downloading"), "\(sync.stderr)")
            #expect(sync.stderr.contains("4 moved from where an earlier sync put them"), "\(sync.stderr)")
            #expect(downloads() == 4, "layout: \(new) downloads nothing")
            let status = try Datapin.run(["status", "--check"], in: project)
            #expect(status.status == 0, "no old place is left as an extra file: \(status.stdout)")
            #expect(try Datapin.run(["verify"], in: project).status == 0)
        }
        let flatName = project.appendingPathComponent("data/jw02734001001_02101_00001-seg001_nis_cal.fits").path
        #expect(!FileManager.default.fileExists(atPath: flatName), "back to nested, the flat names are gone")
        #expect(try Datapin.run(["sync", "--frozen"], in: project).status == 0)
    }

    @Test func aFileChangedSinceTheLastSyncIsFetchedNotMoved() throws {
        let (project, _, server) = try OutdatedCommandTests.servedQuickstart()
        defer { server.shutdown() }
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        #expect(try Datapin.run(["sync"], in: project).status == 0)
        let nested = project.appendingPathComponent("data/\(OutdatedCommandTests.cal)")
        var bytes = try Data(contentsOf: nested)
        bytes[0] ^= 0xFF
        try bytes.write(to: nested)
        try Self.relayout(project, from: "nested", to: "flat")
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        let sync = try Datapin.run(["sync"], in: project)
        #expect(sync.status == 0, "stderr: \(sync.stderr)")
        #expect(sync.stderr.contains("Synced 1 file"), "the edited file is fetched: \(sync.stderr)")
        #expect(sync.stderr.contains("3 moved"), "\(sync.stderr)")
        let status = try Datapin.run(["status"], in: project)
        #expect(status.stdout.contains("extra     \(OutdatedCommandTests.cal)"), "the edited file is the user's: it stays, as an extra: \(status.stdout)")
    }
}
