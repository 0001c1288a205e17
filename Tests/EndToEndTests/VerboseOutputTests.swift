import DatapinKit
import Foundation
import Testing
import TestSupport

/// What `-v` adds: `plan` shows each changed key's old and new value, `lock` lists the files it
/// added, removed and changed, and `sync` names every file it fetched with its SHA-256.
@Suite struct VerboseOutputTests {
    /// A project reading an HTTP-served JSON catalog of `a.fits` and `b.fits` with sizes and
    /// SHA-256s; `publish` rewrites the served files and catalog.
    struct Project {
        let directory: URL
        let served: URL
        let server: LoopbackServer

        func run(_ arguments: [String]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory)
        }

        func publish(_ files: [String: Data]) throws {
            var listed: [[String: Any]] = []
            for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
                try bytes.write(to: served.appendingPathComponent(name))
                listed.append(["name": name, "url": name, "size": bytes.count, "sha256": SyncCommandTests.sha256(bytes)])
            }
            try JSONSerialization.data(withJSONObject: ["datasets": [["id": "ds1", "files": listed]]], options: [.sortedKeys])
                .write(to: served.appendingPathComponent("catalog.json"))
        }
    }

    static let original = ["a.fits": SyncCommandTests.bytes(5000, seed: 1), "b.fits": SyncCommandTests.bytes(6000, seed: 2)]

    static func project() throws -> Project {
        let directory = try TestEnvironment.makeScratchDirectory("verbose")
        let served = try TestEnvironment.makeScratchDirectory("verbose-served")
        let server = try LoopbackServer(handler: LoopbackServer.files(root: served))
        let project = Project(directory: directory, served: served, server: server)
        try project.publish(original)
        try """
        version: 1
        destination: data
        archives:
          lab: {type: index, url: "\(server.baseURL)/catalog.json"}
        datasets:
          - archive: lab
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return project
    }

    @Test func lockListsTheFilesItAddedOnlyWithVerbose() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        let lock = try project.run(["lock", "-v"])
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(lock.stderr.contains("Locked 2 files"), "\(lock.stderr)")
        #expect(lock.stderr.contains("ds1: 2 to add\n  + ds1/a.fits (5.0 kB)\n  + ds1/b.fits (6.0 kB)"), "\(lock.stderr)")

        let sync = try project.run(["sync", "-v"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let sha = SyncCommandTests.sha256(Self.original["a.fits"]!)
        #expect(sync.stderr.contains("fetched ds1/a.fits (5.0 kB, sha256 \(sha.prefix(16))…)"), "\(sync.stderr)")
    }

    @Test func planShowsEachChangedValueWithVerboseAndOnlyTheKeysWithout() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        let lock = try project.run(["lock"])
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(!lock.stderr.contains("+ ds1/a.fits"), "no file list without -v: \(lock.stderr)")
        var reprocessed = Self.original
        reprocessed["a.fits"] = SyncCommandTests.bytes(5100, seed: 9)
        try project.publish(reprocessed)

        let plain = try project.run(["plan", "--update"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("  ~ ds1/a.fits (fields: size, sha256)\n"), "\(plain.stdout)")
        #expect(!plain.stdout.contains("→"), "\(plain.stdout)")

        let verbose = try project.run(["plan", "--update", "-v"])
        let old = SyncCommandTests.sha256(Self.original["a.fits"]!).prefix(16)
        let new = SyncCommandTests.sha256(reprocessed["a.fits"]!).prefix(16)
        #expect(verbose.stdout.contains("  ~ ds1/a.fits (fields: size, sha256)\n      size: 5000 → 5100 bytes\n      sha256: \(old)… → \(new)…\n"), "\(verbose.stdout)")

        let markdown = try project.run(["plan", "--update", "-v", "--format", "markdown"])
        #expect(markdown.stdout.contains("- `ds1/a.fits` (size, sha256)\n  - `size: 5000 → 5100 bytes`"), "\(markdown.stdout)")

        let json = try project.run(["plan", "--update", "--json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let changed = try #require((document["changed"] as? [[String: Any]])?.first)
        let values = try #require(changed["values"] as? [[String: Any]])
        #expect(values.first?["field"] as? String == "size")
        #expect(values.first?["old"] as? String == "5000")
        #expect(values.first?["new"] as? String == "5100")
    }
}
