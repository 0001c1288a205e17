import DatapinKit
import Foundation
import Testing
import TestSupport

/// What datapin says and does about checksums it cannot compute, OpenSSL without SHA-256, and
/// credentials of archives a sync has nothing to fetch from.
@Suite struct IntegritySyncTests {
    /// A project whose index catalog gives `a.fits` a SHA-256 and an xxh64 checksum and `b.fits`
    /// and `c.fits` only an xxh64 one; the server serves `served`.
    struct Project {
        let directory: URL
        let served: URL
        let server: LoopbackServer
        let files: [String: Data]

        func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory, environment: environment)
        }

        func lock() throws -> Lockfile {
            try LockReader.read(contentsOf: directory.appendingPathComponent("datapin.lock").path)
        }
    }

    static func project() throws -> Project {
        let directory = try TestEnvironment.makeScratchDirectory("integrity")
        let served = try TestEnvironment.makeScratchDirectory("integrity-served")
        var files: [String: Data] = [:]
        var listed: [[String: Any]] = []
        for (index, name) in ["a.fits", "b.fits", "c.fits"].enumerated() {
            let bytes = SyncCommandTests.bytes(3000 + index, seed: UInt8(index + 1))
            files[name] = bytes
            try bytes.write(to: served.appendingPathComponent(name))
            var file: [String: Any] = ["name": name, "url": name, "size": bytes.count, "checksum": "xxh64:\(String(format: "%016x", index + 1))"]
            if name == "a.fits" { file["sha256"] = SyncCommandTests.sha256(bytes) }
            listed.append(file)
        }
        try JSONSerialization.data(withJSONObject: ["datasets": [["id": "ds1", "files": listed]]], options: [.sortedKeys])
            .write(to: served.appendingPathComponent("catalog.json"))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: served))
        try """
        version: 1
        destination: data
        archives:
          lab: {type: index, url: "\(server.baseURL)/catalog.json"}
        datasets:
          - archive: lab
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return Project(directory: directory, served: served, server: server, files: files)
    }

    static func occurrences(of text: String, in output: String) -> Int {
        output.components(separatedBy: text).count - 1
    }

    @Test func anXXH64ChecksumIsWarnedOnceWhileSHA256IsStillVerifiedAndPinned() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }

        let lock = try project.run(["lock"])
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(Self.occurrences(of: "xxh64", in: lock.stderr.components(separatedBy: "\n").filter { !$0.contains("not checked:") }.joined(separator: "\n")) == 1, "\(lock.stderr)")
        #expect(lock.stderr.contains("warning: 3 files in the lock carry an archive checksum in xxh64, an algorithm datapin does not know, so datapin cannot check it; they are verified by size and SHA-256 instead"), "\(lock.stderr)")
        #expect(try project.lock().files.map { $0.checksum?.description } == ["xxh64:0000000000000001", "xxh64:0000000000000002", "xxh64:0000000000000003"])

        // The archive's SHA-256 of a.fits is still checked: other bytes of the same size are refused.
        var corrupted = try #require(project.files["a.fits"])
        corrupted[10] ^= 0xFF
        try corrupted.write(to: project.served.appendingPathComponent("a.fits"))
        let refused = try project.run(["sync"])
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(refused.stderr.contains("a.fits: the download's sha256 is"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.directory.appendingPathComponent("data/ds1/a.fits").path))

        try project.files["a.fits"]!.write(to: project.served.appendingPathComponent("a.fits"))
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stderr.contains("warning: 1 file fetched by this sync carries an archive checksum in xxh64"), "\(sync.stderr)")
        #expect(Self.occurrences(of: "fetched by this sync carr", in: sync.stderr) == 1, "\(sync.stderr)")
        let pinned = try project.lock()
        for entry in pinned.files {
            #expect(entry.sha256 == SyncCommandTests.sha256(project.files[(entry.path as NSString).lastPathComponent]!), "\(entry.path) is pinned by its SHA-256")
            #expect(FileManager.default.contents(atPath: project.directory.appendingPathComponent("data/\(entry.path)").path) == project.files[(entry.path as NSString).lastPathComponent])
        }
        #expect(try project.run(["verify"]).status == 0)
    }

    @Test func withoutSHA256InOpenSSLEveryCommandStopsWithAnError() throws {
        let directory = try TestEnvironment.makeScratchDirectory("no-sha256")
        let configuration = directory.appendingPathComponent("openssl.cnf")
        // Only OpenSSL's null provider: no algorithm at all.
        try """
        openssl_conf = openssl_init
        [openssl_init]
        providers = provider_sect
        [provider_sect]
        null = null_sect
        [null_sect]
        activate = 1
        """.write(to: configuration, atomically: true, encoding: .utf8)

        for arguments in [["init"], ["lock"], ["sync"]] {
            let result = try Datapin.run(arguments, in: directory, environment: ["OPENSSL_CONF": configuration.path])
            #expect(result.status == 4, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("error: the OpenSSL library datapin uses (libcrypto) cannot compute SHA256; datapin verifies every file and names its own by SHA-256, so it cannot run"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.yaml").path))
    }

    @Test func aCompleteTreeSyncsWithAnExpiredTokenAndAMissingFileIsRefused() throws {
        let lab = try CredentialSyncTests.lab(count: 2, credentials: "token_env: LAB_TOKEN") { _ in true }
        defer { lab.server.shutdown() }
        let first = try lab.run(["sync"], environment: ["LAB_TOKEN": "opaque-token-not-a-jwt"])
        #expect(first.status == 0, "\(first.stderr)")
        let fetched = lab.fileRequests.count
        let expired = TestJWT.make(exp: 1_600_000_000)

        let complete = try lab.run(["sync"], environment: ["LAB_TOKEN": expired])

        #expect(complete.status == 0, "nothing to fetch, so the token is not in the way: \(complete.stderr)")
        #expect(complete.stderr.contains("Up to date: 2 files in place, nothing to fetch"), "\(complete.stderr)")
        #expect(lab.fileRequests.count == fetched)

        try FileManager.default.removeItem(at: lab.data.appendingPathComponent("ds1/f1_cal.fits"))
        let missing = try lab.run(["sync"], environment: ["LAB_TOKEN": expired])
        #expect(missing.status == 5, "\(missing.stderr)")
        #expect(missing.stderr.contains("archive 'lab': the token in LAB_TOKEN expired at 2020-09-13T12:26:40Z; nothing was fetched"), "\(missing.stderr)")
        #expect(lab.fileRequests.count == fetched)
        try lab.expectNowhere([expired], outputs: [complete, missing])
    }
}
