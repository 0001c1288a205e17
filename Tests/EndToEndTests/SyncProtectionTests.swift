import DatapinKit
import Foundation
import Testing
import TestSupport

/// The project's own files inside the destination (the spec, the lock, `.datapin/`, the local
/// catalogs the spec reads) are never pruned, never extra, never written over; and a sync whose
/// stderr nobody reads still finishes its transfers.
@Suite struct SyncProtectionTests {
    /// A project in `directory` whose spec is `pin.yaml`, with `destination: .` and a local
    /// SHA256SUMS catalog at `catalog` (relative to the project) listing `files` (path → text),
    /// which lie beside it.
    static func project(catalog: String = "SHA256SUMS", files: [String: String], layout: String = "nested", catalogURL: ((URL) -> String)? = nil) throws -> URL {
        let directory = try TestEnvironment.makeScratchDirectory("protect")
        let catalogFile = directory.appendingPathComponent(catalog)
        let catalogFolder = catalogFile.deletingLastPathComponent()
        var lines: [String] = []
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            let url = catalogFolder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            lines.append("\(SyncCommandTests.sha256(Data(text.utf8)))  \(path)")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: catalogFile, atomically: true, encoding: .utf8)
        try """
        version: 1
        destination: .
        layout: \(layout)
        archives:
          local: {type: index, url: "\(catalogURL?(catalogFile) ?? catalog)"}
        datasets:
          - archive: local
        """.write(to: directory.appendingPathComponent("pin.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    static func exists(_ directory: URL, _ path: String) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path)
    }

    @Test func pruneInAProjectFolderKeepsTheSpecTheLockAndTheLocalCatalog() throws {
        let directory = try Self.project(files: ["ds/a.fits": "hello\n", "ds/b.fits": "world\n"])
        try Data("mine\n".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        let lock = try Datapin.run(["--spec", "pin.yaml", "lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")

        let sync = try Datapin.run(["--spec", "pin.yaml", "sync", "--prune"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(!sync.stderr.contains("removed pin.yaml"), "\(sync.stderr)")
        #expect(!sync.stderr.contains("removed SHA256SUMS"), "\(sync.stderr)")
        #expect(sync.stderr.contains("removed notes.txt (not in the lock)"), "a file that is not the project's is still pruned: \(sync.stderr)")
        for path in ["pin.yaml", "SHA256SUMS", "datapin.lock", ".datapin", "ds/a.fits", "ds/b.fits"] {
            #expect(Self.exists(directory, path), "\(path) is kept")
        }
        #expect(!Self.exists(directory, "notes.txt"))

        let status = try Datapin.run(["--spec", "pin.yaml", "status", "--check"], in: directory)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("Clean: 2 files match datapin.lock"), "\(status.stdout)")
        let again = try Datapin.run(["--spec", "pin.yaml", "sync", "--prune", "--dry-run"], in: directory)
        #expect(again.stdout.contains("remove 0;"), "\(again.stdout)")
    }

    @Test func statusNeverCallsTheProjectsOwnFilesExtraWhateverTheirNames() throws {
        let directory = try Self.project(catalog: "catalogs/files.sha256", files: ["ds/a.fits": "hello\n"]) { $0.absoluteString }
        try Data("mine\n".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        #expect(try Datapin.run(["--spec", "pin.yaml", "lock"], in: directory).status == 0)
        let status = try Datapin.run(["--spec", "pin.yaml", "--json", "status"], in: directory)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)")
        // The catalog (named by a file:// URL) and the spec are the project's; the files the
        // catalog lists under catalogs/ds/ are extra: they are not locked at that path.
        #expect(record["extra"] as? [String] == ["catalogs/ds/a.fits", "notes.txt"], "\(status.stdout)")
    }

    @Test func aLockThatPlacesAFileOverTheSpecIsRefusedAndTheSpecKept() throws {
        let directory = try Self.project(catalog: "upstream/SHA256SUMS", files: ["ds/pin.yaml": "not a spec\n", "ds/a.fits": "hello\n"], layout: "flat")
        let spec = try Data(contentsOf: directory.appendingPathComponent("pin.yaml"))
        #expect(try Datapin.run(["--spec", "pin.yaml", "lock"], in: directory).status == 0)
        let sync = try Datapin.run(["--spec", "pin.yaml", "sync"], in: directory)
        #expect(sync.status == 2, "\(sync.stderr)")
        #expect(sync.stderr.contains("error: datapin.lock places 'pin.yaml' in the destination, where 'pin.yaml' is one of the project's own files"), "\(sync.stderr)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("pin.yaml")) == spec, "the spec is untouched")
        #expect(!Self.exists(directory, "a.fits"), "nothing was fetched")
    }

    @Test func aSyncWhoseStderrNobodyReadsStillFinishesEveryTransfer() throws {
        // 400 files whose "fetched …" lines fill a pipe's 64 KiB buffer several times over.
        let names = (0..<400).map { "f\($0)_" + String(repeating: "x", count: 200) + ".fits" }
        let files = Dictionary(uniqueKeysWithValues: names.map { ($0, SyncCommandTests.bytes(10, seed: 3)) })
        let (project, server) = try SyncCommandTests.lockedProject(files: files)
        defer { server.shutdown() }

        let process = Process()
        process.executableURL = TestEnvironment.datapinBinary
        process.arguments = ["sync"]
        process.currentDirectoryURL = project.directory
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": project.directory.path, "NO_COLOR": "1", "LANG": "C.UTF-8"]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let deadline = Date().addingTimeInterval(60)
        func placed() -> Int { names.filter { project.local($0) != nil }.count }
        while Date() < deadline && placed() < names.count { usleep(50_000) }
        #expect(placed() == names.count, "every file landed while nobody read stderr")

        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text.suffix(2000))")
        #expect(text.contains("Synced 400 files"), "\(text.suffix(2000))")
    }
}
