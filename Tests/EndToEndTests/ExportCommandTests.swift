import DatapinKit
import Foundation
import Synchronization
import Testing
import TestSupport

/// `datapin export csv|script|manifest` run as a user would; the exported script is run with the
/// real bash and curl against a loopback server that misbehaves on purpose.
@Suite struct ExportCommandTests {
    /// Tokens hold no whitespace (the script strips it); this one tries quoting and substitution.
    static let token = "tok-3f9a'$(touch${IFS}pwned)\"`touch${IFS}pwned`-secret"

    /// A project whose lock (written by hand) names `archive: mast`, served by a loopback server:
    /// a pinned file shared with ds2 (`duplicates: link`), an unpinned file with a hostile name,
    /// and two exclusive-access files, one on the archive's host and one on another host.
    struct Project {
        let directory: URL
        let server: LoopbackServer
        let contents: [String: Data]
        /// How many requests each served path has had.
        let attempts: Attempts

        var data: URL { directory.appendingPathComponent("data") }

        func local(_ path: String) -> Data? { FileManager.default.contents(atPath: data.appendingPathComponent(path).path) }

        func datapin(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory, environment: environment)
        }

        /// Runs `bash download.sh` in the project folder with only `environment` beside PATH and HOME.
        func runScript(environment: [String: String] = [:]) throws -> CommandResult {
            try Bash.run(["download.sh"], in: directory, environment: environment)
        }

        func requests(to path: String) -> [LoopbackRequest] { server.requests.filter { $0.path == path } }
    }

    static func bytes(_ count: Int, seed: UInt8) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) })
    }

    static func sha256(_ data: Data) -> String {
        TestDigest.hex(.sha256, of: data)
    }

    static let hostileName = "ds1/it's $HOME `id` 100%.fits"

    /// The project, its spec, its lock and the served files; `misbehave` answers first (nil: serve the file).
    static func project(honourRange: Bool = true, misbehave: @escaping @Sendable (LoopbackRequest, Int, Data) -> LoopbackResponse? = { _, _, _ in nil }) throws -> Project {
        let directory = try TestEnvironment.makeScratchDirectory("export")
        let served = try TestEnvironment.makeScratchDirectory("served")
        let contents: [String: Data] = ["a": bytes(50_000, seed: 1), "hostile": bytes(3_000, seed: 2), "secret": bytes(700, seed: 3), "elsewhere": bytes(900, seed: 4)]
        for (name, data) in contents { try data.write(to: served.appendingPathComponent(name)) }
        let serve = LoopbackServer.files(root: served, honourRange: honourRange)
        let attempts = Attempts()
        let server = try LoopbackServer { request in
            let body = contents[String(request.path.dropFirst())] ?? Data()
            return misbehave(request, attempts.next(request.path), body) ?? serve(request)
        }
        let spec = """
        version: 1
        destination: data
        duplicates: link
        archives:
          mast: {url: "\(server.baseURL)", token_env: MAST_API_TOKEN}
        datasets:
          - archive: mast
            mission: jwst
            ids: [ds1, ds2]
        """
        try spec.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let digest = try SpecLoader.load(text: spec, file: "datapin.yaml", grammar: ArchiveRegistry.grammar).spec.meaningDigest
        func entry(_ path: String, _ name: String, host: String = "127.0.0.1", pinned: Bool = true, access: Access = .public, also: [String] = [], alsoPaths: [String] = []) -> LockEntry {
            LockEntry(path: path, archive: "mast", dataset: "ds1", uri: "mast:JWST/product/\(name)", url: "http://\(host):\(server.port)/\(name)",
                      size: Int64(contents[name]!.count), sha256: pinned ? sha256(contents[name]!) : nil, access: access, also: also, alsoPaths: alsoPaths)
        }
        let lock = Lockfile(specDigest: digest, files: [
            entry("ds1/a.fits", "a", also: ["ds2"], alsoPaths: ["ds2/a.fits"]),
            entry(hostileName, "hostile", pinned: false),
            entry("ds1/secret.fits", "secret", access: .exclusive),
            entry("ds1/elsewhere.fits", "elsewhere", host: "localhost", access: .exclusive),
        ])
        try LockWriter.render(lock).write(to: directory.appendingPathComponent("datapin.lock"), atomically: true, encoding: .utf8)
        return Project(directory: directory, server: server, contents: contents, attempts: attempts)
    }

    /// Exports the script with the token set in datapin's environment, and checks it left no trace.
    static func exportScript(_ project: Project) throws {
        let export = try project.datapin(["export", "script", "-o", "download.sh"], environment: ["MAST_API_TOKEN": token])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.isEmpty)
        let script = try String(contentsOf: project.directory.appendingPathComponent("download.sh"), encoding: .utf8)
        #expect(!script.contains("tok-3f9a"))
        let mode = try FileManager.default.attributesOfItem(atPath: project.directory.appendingPathComponent("download.sh").path)[.posixPermissions] as? Int
        #expect(mode == 0o755)
    }

    func expectPublicFilesInPlace(_ project: Project, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(project.local("ds1/a.fits") == project.contents["a"], sourceLocation: sourceLocation)
        #expect(project.local("ds2/a.fits") == project.contents["a"], sourceLocation: sourceLocation)
        #expect(project.local(Self.hostileName) == project.contents["hostile"], sourceLocation: sourceLocation)
    }

    // MARK: The script

    @Test func scriptFetchesTheLayoutSendsTheTokenOnlyToTheArchiveAndASecondRunDownloadsNothing() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        try Self.exportScript(project)
        let first = try project.runScript(environment: ["MAST_API_TOKEN": Self.token])
        #expect(first.status == 0, "\(first.stderr)")
        expectPublicFilesInPlace(project)
        #expect(project.local("ds1/secret.fits") == project.contents["secret"])
        #expect(project.local("ds1/elsewhere.fits") == project.contents["elsewhere"])
        let owner = try FileManager.default.attributesOfItem(atPath: project.data.appendingPathComponent("ds1/a.fits").path)[.systemFileNumber] as? Int
        let duplicate = try FileManager.default.attributesOfItem(atPath: project.data.appendingPathComponent("ds2/a.fits").path)[.systemFileNumber] as? Int
        #expect(owner == duplicate)
        #expect(!FileManager.default.fileExists(atPath: project.directory.appendingPathComponent("pwned").path))

        #expect(project.requests(to: "/secret").map { $0.header("Authorization") } == ["token \(Self.token)"])
        #expect(project.requests(to: "/elsewhere").count == 1)
        let others = project.server.requests.filter { $0.path != "/secret" }
        #expect(others.allSatisfy { $0.header("Authorization") == nil })

        let requests = project.server.requests.count
        let second = try project.runScript(environment: ["MAST_API_TOKEN": Self.token])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(project.server.requests.count == requests)
        #expect(second.stderr.contains("Done: 4 of 4 files in place (0 downloaded, 4 already there)"))
    }

    @Test func withoutATokenExclusiveFilesAreSkippedWithOneWarningAndExit5() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        try Self.exportScript(project)
        let run = try project.runScript()
        #expect(run.status == 5, "\(run.stderr)")
        expectPublicFilesInPlace(project)
        #expect(project.local("ds1/secret.fits") == nil)
        #expect(run.stderr.components(separatedBy: "warning:").count == 2)
        #expect(run.stderr.contains("warning: skipping 1 exclusive-access file(s) of archive mast: no token; set MAST_API_TOKEN to fetch them"))
        #expect(project.requests(to: "/secret").isEmpty)
        #expect(project.server.requests.allSatisfy { $0.header("Authorization") == nil })
    }

    @Test func aCorruptedDownloadFailsSha256sumAndTheNextRunReplacesIt() throws {
        let project = try Self.project { request, attempt, body in
            guard request.path == "/a", attempt == 1 else { return nil }
            var wrong = body
            wrong[100] ^= 0xFF
            return .ok(wrong)
        }
        defer { project.server.shutdown() }
        try Self.exportScript(project)
        let first = try project.runScript(environment: ["MAST_API_TOKEN": Self.token])
        #expect(first.status == 4, "\(first.stderr)")
        #expect(first.stderr.contains("FAILED"))
        #expect(first.stderr.contains("failed: ds1/a.fits does not match its locked checksum"))
        #expect(project.local("ds2/a.fits") == nil)
        let second = try project.runScript(environment: ["MAST_API_TOKEN": Self.token])
        #expect(second.status == 0, "\(second.stderr)")
        expectPublicFilesInPlace(project)
    }

    @Test func anInterruptedDownloadResumesWithARangeRequestOnTheNextRun() throws {
        let project = try Self.project { request, attempt, body in
            guard request.path == "/a", attempt == 1 else { return nil }
            return LoopbackResponse.ok(body).with(fault: .truncateAfter(bytes: 20_000))
        }
        defer { project.server.shutdown() }
        try Self.exportScript(project)
        let first = try project.runScript(environment: ["MAST_API_TOKEN": Self.token])
        #expect(first.status == 3, "\(first.stderr)")
        #expect(first.stderr.contains("failed: ds1/a.fits"))
        #expect(project.local("ds1/a.fits") == nil, "no partial file at its final path")
        #expect(project.local("ds1/a.fits.part")?.count == 20_000)
        let second = try project.runScript(environment: ["MAST_API_TOKEN": Self.token])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(project.requests(to: "/a").last?.header("Range") == "bytes=20000-")
        #expect(project.local("ds1/a.fits.part") == nil)
        expectPublicFilesInPlace(project)
    }

    // MARK: The command

    @Test func csvListsEveryDatasetsRowsOnStandardOutput() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        let run = try project.datapin(["export", "csv"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.components(separatedBy: "\r\n")
        #expect(lines.first == "Dataset,Filename,Product Level,Suffix,Instrument,Filter / Grating,Size,URI,SHA256")
        #expect(lines.filter { $0.hasPrefix("ds1,") }.count == 4)
        #expect(lines.contains("ds2,a.fits,,,,,50000,mast:JWST/product/a,\(Self.sha256(project.contents["a"]!))"))
        #expect(project.server.requests.isEmpty)
    }

    @Test func manifestExportReportsTheTree() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        try Self.exportScript(project)
        _ = try project.runScript()
        let html = try project.datapin(["export", "manifest"])
        #expect(html.status == 0, "\(html.stderr)")
        #expect(html.stdout.contains("<td>mast:JWST/product/a</td><td>ds1/a.fits</td><td>public</td><td>OK</td><td>anonymous</td>"))
        #expect(html.stdout.contains("<td>ds2/a.fits</td><td>public</td><td>Duplicate of file a.fits in folder ds1, hard-linked here</td>"))
        #expect(html.stdout.contains("<td>ds1/secret.fits</td><td>exclusive</td><td>missing: not downloaded yet</td>"))
        let json = try project.datapin(["export", "manifest", "--json", "-o", "m.json"])
        #expect(json.status == 0, "\(json.stderr)")
        let written = try String(contentsOf: project.directory.appendingPathComponent("m.json"), encoding: .utf8)
        #expect(written.contains("\"size\": 700, \"status\": \"missing: not downloaded yet\", \"uri\": \"mast:JWST/product/secret\""))
    }

    @Test func syncWritesTheSameStatusesAndExportKeepsItsSkips() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        let sync = try project.datapin(["sync"])
        #expect(sync.status == 5, "\(sync.stderr)")
        let written = try String(contentsOf: project.data.appendingPathComponent("MANIFEST.html"), encoding: .utf8)
        let skipped = "<td>ds1/secret.fits</td><td>exclusive</td><td>skipped: exclusive access, no token (set MAST_API_TOKEN)</td><td>anonymous</td>"
        #expect(written.contains(skipped))
        #expect(written.contains("<td>ds1/a.fits</td><td>public</td><td>OK</td>"))
        let exported = try project.datapin(["export", "manifest"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.contains("<td>ds1/secret.fits</td><td>exclusive</td><td>skipped: exclusive access, no token</td><td>anonymous</td>"))
        #expect(exported.stdout.contains("<td>ds2/a.fits</td><td>public</td><td>Duplicate of file a.fits in folder ds1, hard-linked here</td>"))
    }

    @Test(arguments: [
        (["export", "pdf"], "pdf"),
        (["export", "csv", "--json"], "--json applies to `export manifest` only"),
    ])
    func badUsageExits2(arguments: [String], message: String) throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        let run = try project.datapin(arguments)
        #expect(run.status == 2)
        #expect(run.stderr.contains(message))
    }

    @Test(arguments: ["csv", "script", "manifest"])
    func withoutALockEveryFormatSaysToLockFirst(format: String) throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        try FileManager.default.removeItem(at: project.directory.appendingPathComponent("datapin.lock"))
        let run = try project.datapin(["export", format])
        #expect(run.status == 2)
        #expect(run.stderr.contains("no datapin.lock here; run `datapin lock` first"))
        #expect(run.stdout.isEmpty)
    }

    @Test func aStaleLockIsExportedWithAWarning() throws {
        let project = try Self.project()
        defer { project.server.shutdown() }
        let spec = project.directory.appendingPathComponent("datapin.yaml")
        try (try String(contentsOf: spec, encoding: .utf8)).replacingOccurrences(of: "[ds1, ds2]", with: "[ds1]").write(to: spec, atomically: true, encoding: .utf8)
        let run = try project.datapin(["export", "csv"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("warning: datapin.lock is stale against datapin.yaml"))
        #expect(run.stdout.hasPrefix("Dataset,"))
    }
}
