import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin lock / sync / outdated` against a loopback SciCat (v3 and v4 shapes) whose files are
/// served over HTTP by the same fake, or from a `file://` folder: the locked tree keeps each
/// dataset's subfolders, blake2b and md5 are verified, tokens and logins reach only SciCat.
@Suite struct SciCatCommandTests {
    typealias Sample = FakeSciCat.Sample
    static let token = TestJWT.make(exp: Int(Date().timeIntervalSince1970) + 86_400, id: 7)
    static let password = "s3cret-Octarine"

    static func catalogue(tokenLifetime: Int = 3600, filesRedirect: String? = nil, datasets: [FakeSciCat.Dataset] = Sample.datasets()) throws -> FakeSciCat {
        try FakeSciCat(datasets: datasets, users: ["ponder": password], acceptedTokens: [token], tokenLifetime: tokenLifetime, blockPageLimit: 2, searchPageLimit: 2, filesRedirect: filesRedirect)
    }

    /// A project whose spec's archive `ess` has `settings` (url, files, credentials) and `body` after it.
    static func project(_ settings: String, _ body: String) throws -> URL {
        let directory = try TestEnvironment.makeScratchDirectory("scicat")
        try """
        version: 1
        destination: data
        archives:
          ess: {type: scicat, \(settings)}
        \(body)
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    static func lockedPaths(_ directory: URL) throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in line.hasPrefix("- path: ") ? String(line.dropFirst("- path: ".count)) : nil }
    }

    static let thaumFolder = "20.500.12269_72fe3ff6-105b-4c7f-b9d0-073b67c90ec3"
    static let lokiFolder = "20.500.12269_loki 616254-a"

    @Test func lockAndSyncKeepSubfoldersAndVerifyBlake2bAndMD5() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)""#, """
        datasets:
          - archive: ess
            pids: ["\(Sample.thaum)", "\(Sample.loki)"]
        """)
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(lock.stderr.contains("checksum in xxh64") && lock.stderr.contains("checksum in sha2"), "algorithms datapin cannot check are named: \(lock.stderr)")
        let lockText = try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        #expect(lockText.contains("blake2b:" + TestDigest.hex(.blake2b, of: FakeSciCat.bytes(for: "logs/measurement.log"))))
        #expect(lockText.contains("md5:" + TestDigest.hex(.md5, of: FakeSciCat.bytes(for: "sub/run_0003.nxs"))))
        #expect(try Self.lockedPaths(directory).contains { $0.contains("\(Self.thaumFolder)/logs/measurement.log") })
        let sync = try Datapin.run(["sync"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        let data = directory.appendingPathComponent("data")
        for (folder, path) in [(Self.thaumFolder, "flux.dat"), (Self.thaumFolder, "logs/measurement.log"), (Self.lokiFolder, "sub/run_0004.nxs"),
                               (Self.lokiFolder, "psi/unchecked.h5"), (Self.lokiFolder, "fast/hashed.bin"), (Self.lokiFolder, "sha2/notes.txt")] {
            #expect(FileManager.default.contents(atPath: data.appendingPathComponent("\(folder)/\(path)").path) == FakeSciCat.bytes(for: path), "\(folder)/\(path)")
        }
        #expect(FileManager.default.contents(atPath: data.appendingPathComponent("\(Self.thaumFolder)/raw/run 1.nxs").path)
                == FakeSciCat.bytes(for: "\(Sample.thaumFolder)/raw/run 1.nxs"), "an absolute path inside the source folder lands under the dataset")
        let again = try Datapin.run(["sync"], in: directory)
        #expect(again.status == 0)
        let downloads = scicat.requests.filter { $0.path.hasPrefix("/files/") }
        #expect(downloads.count == 10, "the second sync fetches nothing: \(downloads.map(\.path))")
        #expect(!scicat.requests.contains { $0.header("Authorization") != nil }, "anonymous: no Authorization at all")
    }

    @Test(arguments: ["blake2b", "md5"])
    func aWrongByteIsAnIntegrityFailure(algorithm: String) throws {
        var datasets = Sample.datasets()
        let good = FakeSciCat.File("good.dat")
        var bad = FakeSciCat.File("bad.dat")
        var flipped = bad.bytes
        flipped[3] ^= 0x01
        bad.listedChecksum = FakeSciCat.checksum(flipped, algorithm: algorithm)
        datasets[0].blocks = [FakeSciCat.Block(id: "b", chkAlg: algorithm, files: [good, bad])]
        let scicat = try Self.catalogue(datasets: datasets)
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)""#, "datasets:\n  - {archive: ess, pids: [\"\(Sample.thaum)\"]}")
        #expect(try Datapin.run(["lock"], in: directory).status == 0)
        let sync = try Datapin.run(["sync"], in: directory)
        #expect(sync.status == 4, "\(sync.stderr)")
        #expect(sync.stderr.contains("bad.dat"))
        let data = directory.appendingPathComponent("data/\(Self.thaumFolder)")
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("good.dat").path))
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("bad.dat").path))
    }

    @Test func filesComeFromAMountedFolder() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let mount = try TestEnvironment.makeScratchDirectory("scicat-mount")
        let thaum = Sample.datasets()[0]
        for file in thaum.blocks.flatMap(\.files) {
            let target = mount.appendingPathComponent(String(thaum.storagePath(of: file).dropFirst()))
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.bytes.write(to: target)
        }
        let directory = try Self.project(#"url: "\#(scicat.v4)", files: "\#(mount.absoluteString)""#, "datasets:\n  - {archive: ess, pids: [\"\(Sample.thaum)\"]}")
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8).contains("url: \(mount.absoluteString)ess/data/coda/2024/616254/thaum/logs/measurement.log"))
        let sync = try Datapin.run(["sync"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        let placed = directory.appendingPathComponent("data/\(Self.thaumFolder)/logs/measurement.log")
        #expect(FileManager.default.contents(atPath: placed.path) == FakeSciCat.bytes(for: "logs/measurement.log"))
        #expect(!scicat.requests.contains { $0.path.hasPrefix("/files/") })

        try Data("tampered".utf8).write(to: mount.appendingPathComponent("ess/data/coda/2024/616254/thaum/flux.dat"))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("data/\(Self.thaumFolder)/flux.dat"))
        let tampered = try Datapin.run(["sync"], in: directory)
        #expect(tampered.status == 4, "a mounted file is verified as well: \(tampered.stderr)")
    }

    @Test(arguments: ["v3", "v4"])
    func unpublishedDatasetsNeedTheToken(version: String) throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let base = version == "v3" ? scicat.v3 : scicat.v4
        let directory = try Self.project(#"url: "\#(base)", files: "\#(scicat.files)", token_env: SCICAT_TOKEN"#, "datasets:\n  - {archive: ess, pids: [\"\(Sample.embargoed)\"]}")
        let anonymous = try Datapin.run(["lock"], in: directory)
        #expect(anonymous.status != 0)
        #expect(anonymous.stderr.contains("token_env") || anonymous.stderr.contains("has no dataset"), "\(anonymous.stderr)")
        let stale = try Datapin.run(["lock"], in: directory, environment: ["SCICAT_TOKEN": "not-a-token-scicat-knows"])
        #expect(stale.status == 5, "\(stale.stderr)")
        #expect(stale.stderr.contains("may be expired or lack access") && stale.stderr.contains("SCICAT_TOKEN"))
        let lock = try Datapin.run(["lock"], in: directory, environment: ["SCICAT_TOKEN": Self.token])
        #expect(lock.status == 0, "\(lock.stderr)")
        let sync = try Datapin.run(["sync"], in: directory, environment: ["SCICAT_TOKEN": Self.token])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(FileManager.default.contents(atPath: directory.appendingPathComponent("data/20.500.12269_embargoed-0001/secret.nxs").path) == FakeSciCat.bytes(for: "secret.nxs"))
        try Self.expectNoFile(under: directory, contains: Self.token)
    }

    @Test func anExpiredJWTStopsTheSyncBeforeAnyTransfer() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)", token_env: SCICAT_TOKEN"#, "datasets:\n  - {archive: ess, pids: [\"\(Sample.embargoed)\"]}")
        #expect(try Datapin.run(["lock"], in: directory, environment: ["SCICAT_TOKEN": Self.token]).status == 0)
        let expired = TestJWT.make(exp: Int(Date().timeIntervalSince1970) - 120, id: 8)
        let sync = try Datapin.run(["sync"], in: directory, environment: ["SCICAT_TOKEN": expired])
        #expect(sync.status == 5, "\(sync.stderr)")
        #expect(sync.stderr.contains("the token in SCICAT_TOKEN expired at"))
        #expect(!scicat.requests.contains { $0.path.hasPrefix("/files/") })
    }

    @Test func aLoginIsUsedAndNeitherPasswordNorTokenLeavesSciCat() throws {
        let mirrorRoot = try TestEnvironment.makeScratchDirectory("scicat-mirror")
        let embargoed = Sample.datasets()[2]
        for file in embargoed.blocks.flatMap(\.files) {
            let target = mirrorRoot.appendingPathComponent(String(embargoed.storagePath(of: file).dropFirst()))
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.bytes.write(to: target)
        }
        let mirror = try LoopbackServer(handler: LoopbackServer.files(root: mirrorRoot))
        defer { mirror.shutdown() }
        let scicat = try Self.catalogue(filesRedirect: "http://localhost:\(mirror.port)")
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)", username_env: SCICAT_USER, password_env: SCICAT_PASSWORD"#,
                                         "datasets:\n  - {archive: ess, pids: [\"\(Sample.embargoed)\"]}")
        let environment = ["SCICAT_USER": "ponder", "SCICAT_PASSWORD": Self.password]
        let lock = try Datapin.run(["lock"], in: directory, environment: environment)
        #expect(lock.status == 0, "\(lock.stderr)")
        let sync = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(FileManager.default.contents(atPath: directory.appendingPathComponent("data/20.500.12269_embargoed-0001/secret.nxs").path) == FakeSciCat.bytes(for: "secret.nxs"))
        let logins = scicat.requests.filter { $0.path == "/api/v3/auth/login" }
        #expect(logins.count >= 1)
        #expect(scicat.requests.filter { $0.bodyText.contains(Self.password) }.count == logins.count, "the password goes only to /auth/login")
        #expect(!mirror.requests.isEmpty, "the files came from the mirror")
        #expect(!mirror.requests.contains { $0.header("Authorization") != nil || $0.uri.contains("access_token") }, "the mirror on another host gets no token")
        let tokens = scicat.issuedTokens
        #expect(!tokens.isEmpty)
        for secret in tokens + [Self.password] {
            try Self.expectNoFile(under: directory, contains: secret)
            #expect(!lock.stderr.contains(secret) && !sync.stderr.contains(secret) && !sync.stdout.contains(secret))
        }
    }

    @Test func wrongCredentialsAreRefusedAtLogin() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v4)", files: "\#(scicat.files)", username_env: SCICAT_USER, password_env: SCICAT_PASSWORD"#,
                                         "datasets:\n  - {archive: ess, pids: [\"\(Sample.thaum)\"]}")
        #expect(try Datapin.run(["lock"], in: directory).status == 0, "a published dataset needs no login")
        let sync = try Datapin.run(["sync"], in: directory, environment: ["SCICAT_USER": "ponder", "SCICAT_PASSWORD": "wrong"])
        #expect(sync.status == 5, "\(sync.stderr)")
        #expect(sync.stderr.contains("SCICAT_USER") && sync.stderr.contains("SCICAT_PASSWORD") && !sync.stderr.contains("wrong"))
        #expect(scicat.requests.contains { $0.path == "/api/v3/auth/login" }, "a v4 base logs in under v3")
    }

    @Test func outdatedReportsChangedAndRemovedFilesAndPlanShowsAddedOnes() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)""#, "datasets:\n  - {archive: ess, where: {proposalId: \"616254\"}}")
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try Self.lockedPaths(directory).count == 10, "where: found both published datasets of the proposal")
        #expect(try Datapin.run(["outdated"], in: directory).status == 0)
        var datasets = Sample.datasets()
        datasets[0].updatedAt = "2024-04-01T00:00:00.000Z"
        datasets[0].blocks[0].files[0] = FakeSciCat.File("flux.dat", bytes: Data("reprocessed".utf8), time: "2024-04-01T00:00:00.000Z")
        datasets[0].blocks[0].files.remove(at: 1)
        datasets[0].blocks.append(FakeSciCat.Block(id: "b-new", chkAlg: "blake2b", files: [FakeSciCat.File("added.dat")]))
        scicat.publish(datasets)
        let outdated = try Datapin.run(["outdated"], in: directory)
        #expect(outdated.status == 1, "\(outdated.stderr)")
        let report = outdated.stdout + outdated.stderr
        #expect(report.contains("flux.dat") && report.contains("logs/measurement.log"), "\(report)")
        #expect(!report.contains("run_0001.nxs"), "unchanged files are not reported")
        let plan = try Datapin.run(["plan", "--update"], in: directory)
        #expect(plan.stdout.contains("added.dat"), "\(plan.stdout)\(plan.stderr)")
    }

    @Test func whereValuesKeepTheirYAMLKindsAndAPlainNumberMatchesTextToo() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let typed = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)""#, "datasets:\n  - {archive: ess, where: {proposalId: 616254, isPublished: true}}")
        let lock = try Datapin.run(["lock"], in: typed)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try Self.lockedPaths(typed).count == 10, "a plain 616254 matches the text proposalId and a plain true the boolean isPublished")
        let filters = scicat.requests.filter { $0.path == "/api/v3/datasets" }.compactMap { $0.query["filter"] }
        #expect(filters.contains { $0.contains(#""isPublished":true"#) && $0.contains(#""proposalId":{"inq":[616254,"616254"]}"#) }, "\(filters)")
        let quoted = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)""#, "datasets:\n  - {archive: ess, where: {proposalId: \"616254\", isPublished: \"true\"}}")
        let text = try Datapin.run(["lock"], in: quoted)
        let quotedPaths = text.status == 0 ? try Self.lockedPaths(quoted) : []
        #expect(quotedPaths.isEmpty, "a quoted \"true\" is text, which no boolean field equals: \(text.stdout)\(text.stderr)")
        #expect(try Datapin.run(["plan", "--exit-code"], in: typed).status == 0, "the typed spec's lock is current")
    }

    @Test func datasetNameLayoutNamesEachFolderAfterItsDataset() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)""#, "layout: \"{dataset_name}/{filename}\"\ndatasets:\n  - {archive: ess, pids: [\"\(Sample.thaum)\"]}")
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        let paths = try Self.lockedPaths(directory)
        #expect(!paths.isEmpty && paths.allSatisfy { $0.hasPrefix("Thaum flux/") } && paths.contains("Thaum flux/logs/measurement.log"), "\(paths)")
        let sync = try Datapin.run(["sync"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/Thaum flux/logs/measurement.log").path))
    }

    @Test func hostilePathsAreRefusedAtLock() throws {
        var datasets = Sample.datasets()
        datasets[0].blocks = [FakeSciCat.Block(id: "b", chkAlg: "md5", files: [FakeSciCat.File("ok.dat"), FakeSciCat.File("../../escape.sh"), FakeSciCat.File("/etc/passwd")])]
        let scicat = try Self.catalogue(datasets: datasets)
        defer { scicat.shutdown() }
        let directory = try Self.project(#"url: "\#(scicat.v3)", files: "\#(scicat.files)""#, "datasets:\n  - {archive: ess, pids: [\"\(Sample.thaum)\"]}")
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 2, "\(lock.stderr)")
        #expect(lock.stderr.contains("escape.sh") && lock.stderr.contains("/etc/passwd") && lock.stderr.contains("cannot be placed under the destination"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    @Test func theExampleLocksAndSyncsAgainstTheLoopbackSciCat() throws {
        let scicat = try Self.catalogue()
        defer { scicat.shutdown() }
        let directory = try TestEnvironment.makeScratchDirectory("example")
        let spec = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("examples/scicat/datapin.yaml"), encoding: .utf8)
        let pointed = spec.replacingOccurrences(of: "https://scicat.ess.eu/api/v3", with: scicat.v3).replacingOccurrences(of: "sftp://login.esss.dk", with: scicat.files)
        #expect(pointed != spec)
        try pointed.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try Self.lockedPaths(directory) == ["\(Self.thaumFolder)/flux.dat", "\(Self.thaumFolder)/logs/measurement.log"])
        let sync = try Datapin.run(["sync"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(FileManager.default.contents(atPath: directory.appendingPathComponent("data/\(Self.thaumFolder)/logs/measurement.log").path) == FakeSciCat.bytes(for: "logs/measurement.log"))
    }

    /// Fails when any file under `directory` (hidden state included) holds `secret`.
    static func expectNoFile(under directory: URL, contains secret: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        var checked = 0
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true, let data = FileManager.default.contents(atPath: url.path) else { continue }
            checked += 1
            #expect(data.range(of: Data(secret.utf8)) == nil, "\(url.path) holds a secret", sourceLocation: sourceLocation)
        }
        #expect(checked > 0, sourceLocation: sourceLocation)
    }
}
