import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin lock / sync` against the loopback ESO: dp_ids through DataLink, exact names and
/// sizes, credentials (the password grant, a ready token, none) and calSelector's calibrations.
@Suite struct ESOCommandTests {
    static let frame = FakeESO.fors2Frame, twin = FakeESO.fors2Twin
    static let proprietary = "FORS2.2026-11-30T01:02:03.456"

    static func archive(_ change: (inout FakeESO.Configuration) -> Void = { _ in }) throws -> FakeESO {
        var configuration = try FakeESO.Configuration.fors2()
        configuration.frames.append(FakeESO.Frame(proprietary, releaseDate: "2099-11-30T01:02:03.456Z"))
        configuration.proprietary = [proprietary]
        change(&configuration)
        return try FakeESO(configuration)
    }

    /// A project whose spec names `archive` as `eso` (with `credentials` keys), with `body`.
    static func project(_ archive: FakeESO, credentials: String = "", _ body: String) throws -> URL {
        let directory = try TestEnvironment.makeScratchDirectory("eso")
        try """
        version: 1
        destination: data
        archives:
          eso: {url: "\(archive.baseURL)"\(credentials)}
        \(body)
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    static func lock(_ directory: URL) throws -> String {
        try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
    }

    static func lockedPaths(_ directory: URL) throws -> [String] {
        try lock(directory).split(separator: "\n").compactMap { line in
            line.hasPrefix("- path: ") ? String(line.dropFirst("- path: ".count)) : nil
        }
    }

    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CommandResult {
        try Datapin.run(arguments, in: directory, environment: environment)
    }

    /// Every file under `directory`, recursively.
    static func allFiles(_ directory: URL) -> [URL] {
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        return (enumerator?.allObjects as? [URL] ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }


    @Test func idsLockTheExactNamesSizesAndDatesAndSyncTheBytes() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame), \(Self.twin)]
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(try Self.lockedPaths(directory) == ["\(Self.frame)/\(Self.frame).fits.Z", "\(Self.twin)/\(Self.twin).fits.Z"])
        let lock = try Self.lock(directory)
        let bytes = try #require(archive.bytes(of: Self.frame))
        #expect(lock.contains("size: \(bytes.count)"))
        #expect(lock.contains("modified: \"2021-01-02T09:45:03.123Z\""))
        #expect(lock.contains("uri: eso:\(Self.frame)"))
        #expect(lock.contains("url: \(archive.fileURL(Self.frame))"))
        #expect(lock.contains("access: public"))
        #expect(archive.requests.filter { $0.path == "/datalink/links" }.count == 1, "both ids in one DataLink batch")

        let synced = try Self.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        let placed = directory.appendingPathComponent("data/\(Self.frame)/\(Self.frame).fits.Z")
        #expect(try Data(contentsOf: placed) == bytes, "the compressed bytes as served, not decompressed")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.twin)/\(Self.twin).fits.Z").path))
        #expect(archive.authorizedRequests.isEmpty)
    }

    @Test func anUnknownDpIDFailsTheLockNamingIt() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [FORS2.2021-01-02T00:00:00.000]
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 2)
        #expect(locked.stderr.contains("has no dataset 'FORS2.2021-01-02T00:00:00.000'"), "\(locked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    // MARK: Calibrations

    @Test func raw2rawCalibrationsAreFilesOfTheScienceFramesDatasetLockedOnceWithExactNamesAndSizes() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let configuration = try FakeESO.Configuration.fors2()
        let trees = configuration.frames.compactMap { frame in frame.raw2raw.map { (frame.dpID, $0) } }
        let frames = Set(trees.map(\.0))
        let calibrations = Set(trees.flatMap { $0.1.allFiles.map(\.name) }).subtracting(frames)
        let shared = Set(trees[0].1.allFiles.map(\.name)).intersection(trees[1].1.allFiles.map(\.name)).subtracting(frames)
        #expect(!shared.isEmpty, "the fixtures' two frames share calibrations")
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame), \(Self.twin)]
            calibrations: raw2raw
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        let paths = try Self.lockedPaths(directory)
        let posts = archive.requests.filter { $0.path == "/calselector/v1/associations" }
        #expect(posts.count == 1 && posts.first?.method == "POST", "both frames in one calSelector POST")
        #expect(paths.contains("\(Self.frame)/\(Self.frame)_raw2raw.xml"))
        #expect(paths.contains("\(Self.twin)/\(Self.twin)_raw2raw.xml"))
        let lock = try Self.lock(directory)
        let entries = lock.components(separatedBy: "- path: ").dropFirst()
        func uri(_ entry: String) -> String? {
            entry.split(separator: "\n").first { $0.hasPrefix("  uri: eso:") }.map { String($0.dropFirst("  uri: eso:".count)) }
        }
        let calibrationEntries = entries.filter { entry in uri(entry).map { !frames.contains($0) && !$0.hasSuffix("_raw2raw.xml") } ?? false }
        let uris = calibrationEntries.compactMap(uri)
        #expect(Set(uris) == calibrations, "every associated file once")
        #expect(uris.count == calibrations.count, "a calibration both frames share is one file")
        for entry in calibrationEntries {
            let dpID = try #require(uri(entry))
            #expect(entry.contains("type: calibration") || entry.contains("type: science"))
            let bytes = try #require(archive.bytes(of: dpID))
            #expect(entry.contains("size: \(bytes.count)\n"), "\(dpID)")
            #expect(entry.split(separator: "\n").first?.hasSuffix("/\(FakeESO.servedName(of: dpID))") == true, "\(entry)")
        }

        let synced = try Self.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        let tree = try Data(contentsOf: directory.appendingPathComponent("data/\(Self.frame)/\(Self.frame)_raw2raw.xml"))
        #expect(tree == trees.first { $0.0 == Self.frame }?.1.xml)
    }

    @Test func selectingScienceDropsTheCalibrations() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame)]
            calibrations: raw2raw
            select: {types: [science, association]}
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        let lock = try Self.lock(directory)
        #expect(!lock.contains("type: calibration"))
        #expect(try Self.lockedPaths(directory).contains("\(Self.frame)/\(Self.frame)_raw2raw.xml"))
    }

    @Test func lockWarnsNamingFramesWhoseTreeIsIncompleteUncertifiedOrFellBackFromRaw2Master() throws {
        let archive = try Self.archive { configuration in
            configuration.frames[0].raw2raw?.certified = false
            configuration.frames[1].raw2raw?.complete = false
        }
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame), \(Self.twin)]
            calibrations: raw2master
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        let warnings = locked.stderr.split(separator: "\n").filter { $0.contains("warning:") }
        let uncertified = try #require(warnings.first { $0.contains("not yet certified") }, "\(locked.stderr)")
        #expect(uncertified.contains(Self.frame) && !uncertified.contains(Self.twin))
        #expect(uncertified.contains("`datapin outdated` will then show the swap"))
        let incomplete = try #require(warnings.first { $0.contains("is incomplete") }, "\(locked.stderr)")
        #expect(incomplete.contains(Self.twin) && !incomplete.contains(Self.frame))
        let fellBack = try #require(warnings.first { $0.contains("could not execute raw2master") }, "\(locked.stderr)")
        #expect(fellBack.contains("ran Raw2Raw instead") && fellBack.contains("2 frames"))
        #expect(try Self.lockedPaths(directory).contains("\(Self.frame)/\(Self.frame)_raw2master.xml"))
    }

    @Test func certifiedCompleteRaw2RawTreesLockWithoutWarnings() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame)]
            calibrations: raw2raw
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(!locked.stderr.contains("warning:"), "\(locked.stderr)")
    }

    // MARK: ADQL

    @Test func adqlRowsNameTheDatasetsAndAnOverflowIsRefusedLeavingTheLockUntouched() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            adql: "SELECT dp_id FROM dbo.raw WHERE dp_id IN ('\(Self.frame)', '\(Self.twin)') ORDER BY dp_id"
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(try Self.lockedPaths(directory) == ["\(Self.frame)/\(Self.frame).fits.Z", "\(Self.twin)/\(Self.twin).fits.Z"])
        let before = try Self.lock(directory)

        archive.update { $0.defaultMaxrec = 1 }
        let truncated = try Self.run(["lock"], in: directory)
        #expect(truncated.status == 6, "\(truncated.stderr)")
        #expect(truncated.stderr.contains("truncated the answer at 1 rows (OVERFLOW)"), "\(truncated.stderr)")
        #expect(try Self.lock(directory) == before)
    }

    @Test func anAuthenticatedADQLQueryGoesThroughUWSAsync() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, credentials: Self.credentialKeys, """
        datasets:
          - archive: eso
            adql: "SELECT dp_id FROM dbo.raw WHERE dp_id = '\(Self.proprietary)'"
        """)
        let locked = try Self.run(["lock"], in: directory, environment: ["ESO_USER": Self.user, "ESO_PASSWORD": Self.password])
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(try Self.lockedPaths(directory) == ["\(Self.proprietary)/\(Self.proprietary).fits.Z"])
        #expect(!archive.requests.contains { $0.path == "/tap_obs/sync" })
        #expect(archive.requests.contains { $0.path == "/tap_obs/async" && $0.header("Authorization") != nil })
    }

    // MARK: Guards

    @Test func anHTMLLoginPageWhereAFileWasExpectedIsAFailureNeverPlaced() throws {
        let archive = try Self.archive { $0.loginPageInsteadOf = [Self.frame] }
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame), \(Self.twin)]
        """)
        #expect(try Self.run(["lock"], in: directory).status == 0)
        let synced = try Self.run(["sync"], in: directory)
        #expect(synced.status != 0)
        #expect(synced.stderr.contains("HTML"), "\(synced.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.frame)/\(Self.frame).fits.Z").path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.twin)/\(Self.twin).fits.Z").path))
    }

    @Test func aDownloadCutShortIsCompletedToTheServedBytes() throws {
        let archive = try Self.archive { $0.cutFirstDownload = [Self.frame: 4000] }
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame)]
        """)
        #expect(try Self.run(["lock"], in: directory).status == 0)
        let synced = try Self.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("data/\(Self.frame)/\(Self.frame).fits.Z")) == archive.bytes(of: Self.frame))
    }

    @Test func outdatedComparesSizeModifiedAndNotListed() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame), \(Self.twin)]
        """)
        #expect(try Self.run(["lock"], in: directory).status == 0)
        archive.update { configuration in
            for index in configuration.frames.indices where configuration.frames[index].dpID == Self.frame {
                configuration.frames[index].lastModified = "2024-05-06T07:08:09.000Z"
            }
        }
        let outdated = try Self.run(["outdated"], in: directory)
        #expect(outdated.stdout.contains(Self.frame), "\(outdated.stdout)\(outdated.stderr)")
        #expect(outdated.stdout.contains("2024-05-06T07:08:09.000Z"), "\(outdated.stdout)")
        #expect(!outdated.stdout.contains("\(Self.twin).fits.Z"), "\(outdated.stdout)")
    }

    // MARK: Example

    @Test func theFORS2ExampleLocksAndSyncsAgainstTheLoopbackESO() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try TestEnvironment.makeScratchDirectory("eso-example")
        let spec = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("examples/eso-fors2/datapin.yaml"), encoding: .utf8)
        try (spec + "\narchives:\n  eso: {url: \"\(archive.baseURL)\"}\n").write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(!locked.stderr.contains("warning:"), "\(locked.stderr)")
        let paths = try Self.lockedPaths(directory)
        #expect(paths.contains("\(Self.frame)/\(Self.frame).fits.Z") && paths.contains("\(Self.twin)/\(Self.twin)_raw2raw.xml"))
        #expect(paths.count > 20, "the frames, their trees and their calibrations")
        let synced = try Self.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        for path in paths {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(path)").path), "\(path)")
        }
    }

    // MARK: Credentials

    static let credentialKeys = ", username_env: ESO_USER, password_env: ESO_PASSWORD"
    static let user = "ada", password = "correct horse"

    static func proprietaryProject(_ archive: FakeESO, credentials: String = credentialKeys) throws -> URL {
        try project(archive, credentials: credentials, """
        datasets:
          - archive: eso
            ids: [\(frame), \(proprietary)]
        """)
    }

    /// Every file under `directory` and the command outputs hold none of `secrets`.
    static func expectNoSecret(_ secrets: [String], in directory: URL, outputs: [CommandResult]) throws {
        for file in allFiles(directory) {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            for secret in secrets { #expect(!text.contains(secret), "\(file.path) holds a secret") }
        }
        for output in outputs {
            for secret in secrets { #expect(!(output.stdout + output.stderr).contains(secret)) }
        }
    }

    @Test func withoutCredentialsPublicFilesSyncAndProprietaryOnesAreSkippedWithOneWarningAndExit5() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.proprietaryProject(archive)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        let lock = try Self.lock(directory)
        let entry = try #require(lock.components(separatedBy: "- path: ").first { $0.hasPrefix("\(Self.proprietary)/") })
        #expect(entry.contains("access: exclusive"), "release date in the future")
        #expect(lock.components(separatedBy: "access: public").count == 2)

        let synced = try Self.run(["sync"], in: directory)
        #expect(synced.status == 5, "\(synced.stderr)")
        let warnings = synced.stderr.split(separator: "\n").filter { $0.contains("exclusive-access") }
        #expect(warnings.count == 1, "\(synced.stderr)")
        #expect(warnings.first?.contains("ESO_USER and ESO_PASSWORD") == true, "\(synced.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.frame)/\(Self.frame).fits.Z").path))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.proprietary)").path))
        #expect(archive.downloadCounts[Self.proprietary] == nil)
        #expect(archive.authorizedRequests.isEmpty)
    }

    @Test func thePasswordGrantsAnIDTokenSentAsBearerAndWrittenNowhere() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.proprietaryProject(archive)
        let environment = ["ESO_USER": Self.user, "ESO_PASSWORD": Self.password]
        let locked = try Self.run(["lock"], in: directory, environment: environment)
        #expect(locked.status == 0, "\(locked.stderr)")
        let synced = try Self.run(["sync"], in: directory, environment: environment)
        #expect(synced.status == 0, "\(synced.stderr)")
        let placed = directory.appendingPathComponent("data/\(Self.proprietary)/\(Self.proprietary).fits.Z")
        #expect(try Data(contentsOf: placed) == archive.bytes(of: Self.proprietary))

        let grants = archive.requests.filter { $0.path == "/sso/oidc/token" }
        #expect(!grants.isEmpty)
        #expect(grants.allSatisfy { $0.method == "GET" && $0.header("Authorization") == nil })
        let tokens = archive.issuedTokens
        #expect(!tokens.isEmpty)
        let sent = Set(archive.authorizedRequests.compactMap { $0.header("Authorization") })
        #expect(!sent.isEmpty && sent.isSubset(of: Set(tokens.map { "Bearer \($0)" })), "the id_token, as Bearer")
        #expect(archive.authorizedRequests.contains { $0.path == "/dataPortal/file/\(Self.proprietary)" })
        try Self.expectNoSecret([Self.password, ESOTestEncoding.encoded(Self.password)] + tokens, in: directory, outputs: [locked, synced])
    }

    @Test func aWrongPasswordIsExit5WithASentenceNamingTheVariables() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.proprietaryProject(archive)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        let wrong = "wrong battery staple"
        let synced = try Self.run(["sync"], in: directory, environment: ["ESO_USER": Self.user, "ESO_PASSWORD": wrong])
        #expect(synced.status == 5, "\(synced.stderr)")
        #expect(synced.stderr.contains("refused the user name in ESO_USER and the password in ESO_PASSWORD"), "\(synced.stderr)")
        #expect(archive.issuedTokens.isEmpty)
        try Self.expectNoSecret([wrong, ESOTestEncoding.encoded(wrong)], in: directory, outputs: [synced])
    }

    @Test func aReadyTokenInTokenEnvFetchesProprietaryFiles() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let token = try Self.grantByHand(archive)
        let directory = try Self.proprietaryProject(archive, credentials: ", token_env: ESO_TOKEN")
        let locked = try Self.run(["lock"], in: directory, environment: ["ESO_TOKEN": token])
        #expect(locked.status == 0, "\(locked.stderr)")
        let synced = try Self.run(["sync"], in: directory, environment: ["ESO_TOKEN": token])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.proprietary)/\(Self.proprietary).fits.Z").path))
        #expect(archive.requests.filter { $0.path == "/sso/oidc/token" }.count == 1, "only the grant made by hand")
        #expect(Set(archive.authorizedRequests.compactMap { $0.header("Authorization") }) == ["Bearer \(token)"])
        try Self.expectNoSecret([token], in: directory, outputs: [locked, synced])
    }

    @Test func theTokenGoesToESOsHostsOnlyNeverToAPortalOnAnotherHost() throws {
        let other = try Self.archive()
        defer { other.shutdown() }
        let foreign = other.baseURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let archive = try Self.archive { $0.portalURL = foreign }
        defer { archive.shutdown() }
        let directory = try Self.proprietaryProject(archive)
        let environment = ["ESO_USER": Self.user, "ESO_PASSWORD": Self.password]
        #expect(try Self.run(["lock"], in: directory, environment: environment).status == 0)
        #expect(try Self.lock(directory).contains("url: \(foreign)/dataPortal/file/\(Self.proprietary)"))
        let synced = try Self.run(["sync"], in: directory, environment: environment)
        #expect(synced.status != 0, "the foreign portal refuses the proprietary file without a token")
        #expect(other.requests.contains { $0.path == "/dataPortal/file/\(Self.frame)" }, "the public file came from the other host")
        #expect(other.authorizedRequests.isEmpty, "no credential went to another host")
        #expect(!archive.authorizedRequests.isEmpty, "the listing carried the token to ESO's own host")
        try Self.expectNoSecret([Self.password] + archive.issuedTokens, in: directory, outputs: [synced])
    }

    @Test func authURLNamesTheTokenServiceAndOnlyItGetsThePassword() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let tokenService = archive.tokenURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let directory = try Self.proprietaryProject(archive, credentials: Self.credentialKeys + ", auth_url: \"\(tokenService)\"")
        let environment = ["ESO_USER": Self.user, "ESO_PASSWORD": Self.password]
        let locked = try Self.run(["lock"], in: directory, environment: environment)
        #expect(locked.status == 0, "\(locked.stderr)")
        let synced = try Self.run(["sync"], in: directory, environment: environment)
        #expect(synced.status == 0, "\(synced.stderr)")
        let grants = archive.requests.filter { $0.path == "/sso/oidc/token" }
        #expect(!grants.isEmpty && grants.allSatisfy { $0.header("Host")?.hasPrefix("localhost:") == true }, "the grant went to auth_url's host")
        #expect(archive.requests.filter { $0.path != "/sso/oidc/token" }.allSatisfy { $0.header("Host")?.hasPrefix("127.0.0.1:") == true })
        #expect(archive.requests.filter { $0.path != "/sso/oidc/token" }.allSatisfy { !$0.uri.contains(ESOTestEncoding.encoded(Self.password)) && !$0.bodyText.contains(Self.password) })
        #expect(archive.authorizedRequests.contains { $0.path == "/dataPortal/file/\(Self.proprietary)" })
        try Self.expectNoSecret([Self.password, ESOTestEncoding.encoded(Self.password)] + archive.issuedTokens, in: directory, outputs: [locked, synced])
    }

    @Test func authURLMustBeAnHTTPURL() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.proprietaryProject(archive, credentials: Self.credentialKeys + ", auth_url: ./token")
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 2, "\(locked.stderr)")
        #expect(locked.stderr.contains("datapin.yaml:4:") && locked.stderr.contains("'auth_url' of archive 'eso' must be a http:// or https:// URL"), "\(locked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    /// An id_token asked of the fake's token service with curl, as a user would get one.
    static func grantByHand(_ archive: FakeESO) throws -> String {
        let query = "response_type=id_token%20token&grant_type=password&client_id=clientid&username=\(ESOTestEncoding.encoded(user))&password=\(ESOTestEncoding.encoded(password))"
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-g", "\(archive.tokenURL)?\(query)"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let body = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        return try #require(object["id_token"] as? String)
    }
}

/// Percent-encoding as a form or query writes it (RFC 3986 unreserved characters kept).
enum ESOTestEncoding {
    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
    }
}
