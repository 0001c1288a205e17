import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin outdated` and `datapin plan --update` against loopback archives that change after
/// the lock was written: an index catalog served over HTTP, and the loopback MAST.
@Suite struct OutdatedCommandTests {
    static let exposure = "jw02734001001_02101_00001"
    static let association = "jw02734-o002_t002_niriss"
    static let cal = "\(exposure)/\(exposure)-seg001_nis_cal.fits"
    static let newSHA256 = String(repeating: "ab", count: 32)

    /// The quickstart project with its catalog served by a loopback HTTP server; the catalog
    /// file on disk is what the server answers, so editing it changes the archive.
    static func servedQuickstart() throws -> (project: URL, catalog: URL, server: LoopbackServer) {
        let project = try LockCommandTests.quickstartCopy()
        let served = try TestEnvironment.makeScratchDirectory("served").appendingPathComponent("archive")
        try FileManager.default.moveItem(at: project.appendingPathComponent("archive"), to: served)
        let server = try LoopbackServer(handler: LoopbackServer.files(root: served))
        let spec = try LockCommandTests.read(project.appendingPathComponent("datapin.yaml"))
            .replacingOccurrences(of: "url: ./archive/catalog.json", with: "url: \(server.baseURL)/catalog.json")
        try spec.write(to: project.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return (project, served.appendingPathComponent("catalog.json"), server)
    }

    /// Rewrites the catalog's file entries: `change` gets each file object and its dataset id,
    /// and returns the new object, or nil to drop the file.
    static func editCatalog(_ catalog: URL, _ change: (_ dataset: String, _ file: [String: Any]) -> [String: Any]?) throws {
        var root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: catalog)) as? [String: Any])
        let datasets = try #require(root["datasets"] as? [[String: Any]])
        root["datasets"] = datasets.map { dataset -> [String: Any] in
            var edited = dataset
            let id = dataset["id"] as? String ?? ""
            edited["files"] = (dataset["files"] as? [[String: Any]] ?? []).compactMap { change(id, $0) }
            return edited
        }
        try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys]).write(to: catalog)
    }

    @Test func outdatedListsWhatTheIndexChangedAndPlanUpdatePreviewsIt() throws {
        let (project, catalog, server) = try Self.servedQuickstart()
        defer { server.shutdown() }
        let lockURL = project.appendingPathComponent("datapin.lock")
        #expect(try Datapin.run(["lock"], in: project).status == 0)

        let unchanged = try Datapin.run(["outdated"], in: project)
        #expect(unchanged.status == 0, "stderr: \(unchanged.stderr)")
        #expect(unchanged.stdout == "All 4 locked files are as their archives list them\n")

        try Self.editCatalog(catalog) { _, file in
            let name = file["name"] as? String ?? ""
            if name.hasSuffix("substrip256_x1dints.fits") { return nil }
            guard name == "\(Self.exposure)-seg001_nis_cal.fits" else { return file }
            var edited = file
            edited["size"] = 5760
            edited["sha256"] = Self.newSHA256
            edited["modified"] = "2026-11-30T10:00:00Z"
            return edited
        }
        let before = try LockCommandTests.read(lockURL)
        let requestsBefore = server.requests.count

        let outdated = try Datapin.run(["outdated"], in: project)
        #expect(outdated.status == 1, "stderr: \(outdated.stderr)")
        let lines = outdated.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(Self.exposure): 1 file changed upstream"))
        #expect(lines.contains { $0.hasPrefix("  \(Self.cal): size 2880 → 5760; sha256 ") && $0.hasSuffix(" → \(Self.newSHA256); modified none → 2026-11-30T10:00:00Z") }, "\(lines)")
        #expect(lines.contains("  \(Self.association)/\(Self.association)_clear-gr700xd-substrip256_x1dints.fits: no longer listed by the archive"))
        #expect(lines.last == "2 of 4 locked files changed upstream in 2 datasets; `datapin plan --update` shows what `datapin lock --update` would take")
        #expect(server.requests.dropFirst(requestsBefore).map(\.path) == ["/catalog.json"], "outdated reads the catalog and downloads nothing")
        #expect(try LockCommandTests.read(lockURL) == before, "outdated writes nothing")

        let json = try Datapin.run(["outdated", "--json"], in: project)
        #expect(json.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["outdated"] as? Bool == true)
        #expect(document["checked"] as? Int == 4)
        let files = try #require(document["files"] as? [[String: Any]])
        #expect(files.map { $0["path"] as? String } == ["\(Self.association)/\(Self.association)_clear-gr700xd-substrip256_x1dints.fits", Self.cal], "by dataset, then path")
        let changes = try #require(files.last?["changes"] as? [[String: Any]])
        #expect(changes.map { $0["field"] as? String } == ["size", "sha256", "modified"])
        #expect(changes.first?["locked"] as? String == "2880")
        #expect(changes.first?["listed"] as? String == "5760")

        let plan = try Datapin.run(["plan", "--update"], in: project)
        #expect(plan.status == 0, "stderr: \(plan.stderr)")
        #expect(plan.stdout.contains("  ~ \(Self.cal)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("size, sha256, modified"), "\(plan.stdout)")
        #expect(plan.stdout.contains("  - \(Self.association)/\(Self.association)_clear-gr700xd-substrip256_x1dints.fits"), "\(plan.stdout)")
        let scoped = try Datapin.run(["plan", "--update", Self.association], in: project)
        #expect(scoped.status == 0)
        #expect(!scoped.stdout.contains(Self.cal), "the exposure is not updated, so its file keeps its locked size: \(scoped.stdout)")
        #expect(try Datapin.run(["plan", Self.exposure], in: project).status == 2, "dataset names go with --update")
        #expect(try LockCommandTests.read(lockURL) == before, "plan writes nothing")

        let relock = try Datapin.run(["lock"], in: project)
        #expect(relock.status == 0)
        #expect(relock.stderr.contains("changed upstream"), "\(relock.stderr)")
        #expect(try LockCommandTests.read(lockURL).contains("  size: 2880\n"), "without --update the locked size stays")

        #expect(try Datapin.run(["lock", "--update"], in: project).status == 0)
        let updated = try LockCommandTests.read(lockURL)
        #expect(updated.contains("  sha256: \(Self.newSHA256)\n  modified: \"2026-11-30T10:00:00Z\"\n"), "\(updated)")
        let after = try Datapin.run(["outdated"], in: project)
        #expect(after.status == 0, "\(after.stdout)")
        #expect(after.stdout == "All 3 locked files are as their archives list them\n")
    }

    @Test func aFileReprocessedUpstreamIsExplainedWhenSyncRefusesIt() throws {
        let (project, catalog, server) = try Self.servedQuickstart()
        defer { server.shutdown() }
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        let served = catalog.deletingLastPathComponent().appendingPathComponent(Self.cal)
        let reprocessed = Data(repeating: 0x2A, count: 4000)
        try reprocessed.write(to: served)
        let sha256 = TestDigest.hex(.sha256, of: reprocessed)
        try Self.editCatalog(catalog) { _, file in
            guard file["name"] as? String == "\(Self.exposure)-seg001_nis_cal.fits" else { return file }
            var edited = file
            edited["size"] = reprocessed.count
            edited["sha256"] = sha256
            return edited
        }

        let plan = try Datapin.run(["plan"], in: project)
        #expect(plan.status == 0)
        #expect(plan.stderr.contains("1 locked file changed upstream"), "\(plan.stderr)")

        let sync = try Datapin.run(["sync"], in: project)
        #expect(sync.status == 4, "stderr: \(sync.stderr)")
        #expect(sync.stderr.contains("Synced 3 files (5.9 kB in "), "the refused download's bytes are not counted as synced: \(sync.stderr)")
        #expect(sync.stderr.contains("the archive now serves other bytes than it did when the file was locked"), "\(sync.stderr)")
        #expect(sync.stderr.contains("`datapin lock --update \(Self.exposure)` takes the new version"), "\(sync.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.appendingPathComponent("data/\(Self.cal)").path), "a mismatching download is never placed")
        let status = try Datapin.run(["status"], in: project)
        #expect(status.stdout.contains("missing   \(Self.cal) (the archive served other bytes at the last sync)"), "\(status.stdout)")
        #expect(status.stdout.contains("1 file the archive now serves changed, which `datapin sync` cannot place as locked: `datapin outdated` shows what changed, `datapin lock --update \(Self.exposure)` takes the new version"), "\(status.stdout)")
        #expect(!status.stdout.contains("`datapin sync` fetches"), "status promises nothing sync cannot do: \(status.stdout)")
        let statusJSON = try JSONSerialization.jsonObject(with: Data(try Datapin.run(["status", "--json"], in: project).stdout.utf8)) as? [String: Any]
        #expect(statusJSON?["changed_upstream"] as? [String] == [Self.cal])

        #expect(try Datapin.run(["outdated"], in: project).status == 1)
        #expect(try Datapin.run(["lock", "--update", Self.exposure], in: project).status == 0)
        let updated = try Datapin.run(["status"], in: project)
        #expect(updated.stdout.contains("`datapin sync` fetches the missing") && !updated.stdout.contains("the archive served other bytes"),
                "after lock --update the file is one sync can fetch: \(updated.stdout)")
        let again = try Datapin.run(["sync"], in: project)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(try Data(contentsOf: project.appendingPathComponent("data/\(Self.cal)")) == reprocessed)
        #expect(try Datapin.run(["status", "--check"], in: project).status == 0)
    }

    @Test func outdatedWithoutALockSaysToLockFirst() throws {
        let (project, _, server) = try Self.servedQuickstart()
        defer { server.shutdown() }
        let result = try Datapin.run(["outdated"], in: project)
        #expect(result.status == 2)
        #expect(result.stderr.contains("run `datapin lock` first"), "\(result.stderr)")
        #expect(server.requests.isEmpty)
    }

    @Test func anUnreachableArchiveIsExitSix() throws {
        let (project, _, server) = try Self.servedQuickstart()
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        server.shutdown()
        let result = try Datapin.run(["outdated"], in: project)
        #expect(result.status == 6, "stderr: \(result.stderr)")
    }

    static func mastDataset(sizeOfCalints: Int, exclusiveX1D: Bool, withRate: Bool) -> FakeMAST.MissionDataset {
        var files: [FakeMAST.MissionFile] = [
            .init("\(exposure)-seg001_nis_calints.fits", category: "2b", fileSuffix: "_calints", bytes: Data(repeating: 7, count: sizeOfCalints)),
            .init("\(exposure)-seg001_nis_x1dints.fits", category: "2b", fileSuffix: "_x1dints", exclusive: exclusiveX1D),
        ]
        if withRate { files.append(.init("\(exposure)-seg001_nis_rateints.fits", category: "2a", fileSuffix: "_rateints")) }
        return FakeMAST.MissionDataset(mission: "jwst", id: exposure, columns: ["program": "02734"], instrument: "NIRISS", filters: "CLEAR;GR700XD", files: files)
    }

    @Test func outdatedReadsMASTsSizesAndAccessWhenMASTChanges() throws {
        let archive = try FakeMAST(datasets: [Self.mastDataset(sizeOfCalints: 2000, exclusiveX1D: true, withRate: true)])
        defer { archive.shutdown() }
        let project = try MASTCommandTests.project(archive, """
        datasets:
          - archive: mast
            mission: jwst
            ids: [\(Self.exposure)]
        """)
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        #expect(try Datapin.run(["outdated"], in: project).status == 0)

        archive.publish(datasets: [Self.mastDataset(sizeOfCalints: 2400, exclusiveX1D: false, withRate: false)], observations: [])
        let downloadsBefore = archive.requests.filter { $0.path.contains("retrieve_product") }.count
        let outdated = try Datapin.run(["outdated"], in: project)
        #expect(outdated.status == 1, "stderr: \(outdated.stderr)")
        #expect(outdated.stdout == """
        \(Self.exposure): 3 files changed upstream
          \(Self.exposure)/\(Self.exposure)-seg001_nis_calints.fits: size 2000 → 2400
          \(Self.exposure)/\(Self.exposure)-seg001_nis_rateints.fits: no longer listed by the archive
          \(Self.exposure)/\(Self.exposure)-seg001_nis_x1dints.fits: access exclusive → public
        3 of 3 locked files changed upstream in 1 dataset; `datapin plan --update` shows what `datapin lock --update` would take

        """)
        #expect(archive.requests.filter { $0.path.contains("retrieve_product") }.count == downloadsBefore, "nothing is downloaded")

        let plan = try Datapin.run(["plan", "--update", "--format", "json"], in: project)
        #expect(plan.status == 0, "stderr: \(plan.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        let changed = try #require(document["changed"] as? [[String: Any]])
        #expect(changed.map { $0["fields"] as? [String] } == [["size"], ["access"]])
        #expect((document["removed"] as? [[String: Any]])?.count == 1)
    }
}
