import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin sync` of a lab's index archive whose files need a token: a password grant at the
/// archive's `token_url` (a loopback OAuth2 token service issuing short-lived JWTs and refusing
/// expired ones) renewed during the sync, a refusal mid-sync retried once with a fresh token,
/// an expired JWT in `token_env` and a wrong password refused before anything is fetched, and
/// no secret in any output or written file.
@Suite struct CredentialSyncTests {
    static let password = "c0rrect-h0rse-battery"

    struct Lab {
        let directory: URL
        let served: URL
        let files: [String: Data]
        let server: LoopbackServer

        var data: URL { directory.appendingPathComponent("data") }

        func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory, environment: environment)
        }

        /// The requests for files (not the catalog, not the token service).
        var fileRequests: [LoopbackRequest] { server.requests.filter { $0.path.hasPrefix("/ds1/") } }

        func expectTreeMatches(sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            for (name, bytes) in files {
                #expect(FileManager.default.contents(atPath: data.appendingPathComponent("ds1/\(name)").path) == bytes, "\(name)", sourceLocation: sourceLocation)
            }
        }

        /// Fails when `secrets` appear in `outputs` or in any file under the project.
        func expectNowhere(_ secrets: [String], outputs: [CommandResult], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
            for secret in secrets {
                for output in outputs {
                    #expect(!output.stdout.contains(secret) && !output.stderr.contains(secret), "an output holds a secret", sourceLocation: sourceLocation)
                }
                try MASTCommandTests.expectTokenWrittenNowhere(under: directory, token: secret, sourceLocation: sourceLocation)
            }
        }
    }

    /// `count` exclusive-access files in an index served by one loopback server, which sends the
    /// catalog to anyone, answers the token service's path through `service`, and serves a file
    /// only when `authorised` says so (401 otherwise), slowly when `slow`.
    static func lab(count: Int, credentials: String, slow: LoopbackFault? = nil, service: TokenService? = nil,
                    authorised: @escaping @Sendable (LoopbackRequest) -> Bool) throws -> Lab {
        let directory = try TestEnvironment.makeScratchDirectory("credentials")
        let served = try TestEnvironment.makeScratchDirectory("served")
        try FileManager.default.createDirectory(at: served.appendingPathComponent("ds1"), withIntermediateDirectories: true)
        var files: [String: Data] = [:]
        var listed: [[String: Any]] = []
        for index in 1...count {
            let name = "f\(index)_cal.fits"
            let bytes = SyncCommandTests.bytes(4000, seed: UInt8(index))
            files[name] = bytes
            try bytes.write(to: served.appendingPathComponent("ds1/\(name)"))
            listed.append(["name": name, "url": "ds1/\(name)", "size": bytes.count, "sha256": SyncCommandTests.sha256(bytes), "access": "exclusive"])
        }
        let catalog = try JSONSerialization.data(withJSONObject: ["datasets": [["id": "ds1", "files": listed]]], options: [.sortedKeys])
        try catalog.write(to: served.appendingPathComponent("catalog.json"))
        let serve = LoopbackServer.files(root: served)
        let server = try LoopbackServer { request in
            if let answer = service?.answer(request) { return answer }
            if request.path == "/catalog.json" { return serve(request) }
            guard authorised(request) else { return .status(401, body: "token missing, expired or revoked") }
            let answer = serve(request)
            return slow.map(answer.with(fault:)) ?? answer
        }
        try """
        version: 1
        destination: data
        archives:
          lab: {type: index, url: "\(server.baseURL)/catalog.json", \(credentials.replacingOccurrences(of: "BASE", with: server.baseURL))}
        datasets:
          - archive: lab
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let lab = Lab(directory: directory, served: served, files: files, server: server)
        let lock = try lab.run(["lock"])
        #expect(lock.status == 0, "lock: \(lock.stderr)")
        return lab
    }

    static let grantSettings = "username_env: LAB_USER, password_env: LAB_PASSWORD, token_url: \"BASE/oauth/token\""
    static let grantEnvironment = ["LAB_USER": "ada", "LAB_PASSWORD": password]

    @Test func aGrantedTokenThatExpiresDuringTheSyncIsRenewedAndTheSyncFinishes() throws {
        let service = TokenService(username: "ada", password: Self.password, lifetime: 3)
        // Six files of about a second each, one at a time, against tokens living three seconds.
        let lab = try Self.lab(count: 6, credentials: Self.grantSettings, slow: .slow(chunkSize: 1000, delayMilliseconds: 250), service: service) { service.authorises($0) }
        defer { lab.server.shutdown() }

        let sync = try lab.run(["sync", "--jobs", "1"], environment: Self.grantEnvironment)

        #expect(sync.status == 0, "\(sync.stderr)")
        lab.expectTreeMatches()
        #expect(service.grants >= 2, "the token was renewed during the sync (\(service.grants) grants)")
        let tokensUsed = Set(lab.fileRequests.compactMap { $0.header("Authorization") })
        #expect(tokensUsed.count >= 2, "files were fetched with more than one token")
        #expect(tokensUsed.isSubset(of: Set(service.tokens.map { "Bearer \($0)" })))
        let grantRequests = lab.server.requests.filter { $0.path == service.path }
        #expect(grantRequests.allSatisfy { $0.formFields["password"] == Self.password && $0.header("Authorization") == nil })
        try lab.expectNowhere([Self.password] + service.tokens, outputs: [sync])
    }

    @Test func aRefusalMidSyncIsRetriedOnceWithAFreshToken() throws {
        let service = TokenService(username: "ada", password: Self.password, lifetime: 3600)
        let served = Attempts()
        let lab = try Self.lab(count: 4, credentials: Self.grantSettings, service: service) { request in
            guard service.authorises(request) else { return false }
            // The archive revokes the first token once it has served two files with it.
            if served.next("authorised") == 2 { service.revokeAll() }
            return true
        }
        defer { lab.server.shutdown() }

        let sync = try lab.run(["sync", "--jobs", "1"], environment: Self.grantEnvironment)

        #expect(sync.status == 0, "\(sync.stderr)")
        lab.expectTreeMatches()
        #expect(service.grants == 2)
        #expect(service.refusals == 1)
        let requests = lab.fileRequests
        #expect(requests.count == 5)
        let refused = requests.filter { $0.header("Authorization") == "Bearer \(service.tokens[0])" }.dropFirst(2)
        #expect(refused.count == 1)
        #expect(requests.filter { $0.path == refused.first?.path }.map { $0.header("Authorization") } == ["Bearer \(service.tokens[0])", "Bearer \(service.tokens[1])"])
        try lab.expectNowhere([Self.password] + service.tokens, outputs: [sync])
    }

    @Test func anExpiredJWTInTokenEnvIsRefusedBeforeAnyTransfer() throws {
        let lab = try Self.lab(count: 2, credentials: "token_env: LAB_TOKEN") { _ in true }
        defer { lab.server.shutdown() }
        let expired = TestJWT.make(exp: 1_600_000_000)

        let sync = try lab.run(["sync"], environment: ["LAB_TOKEN": expired])

        #expect(sync.status == 5, "\(sync.stderr)")
        #expect(sync.stderr.contains("archive 'lab': the token in LAB_TOKEN expired at 2020-09-13T12:26:40Z; nothing was fetched"), "\(sync.stderr)")
        #expect(lab.fileRequests.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: lab.data.appendingPathComponent("ds1").path))
        try lab.expectNowhere([expired], outputs: [sync])

        let opaque = try lab.run(["sync"], environment: ["LAB_TOKEN": "opaque-token-not-a-jwt"])
        #expect(opaque.status == 0, "a token that is not a JWT is not checked: \(opaque.stderr)")
        lab.expectTreeMatches()
    }

    @Test func aWrongPasswordIsAClearErrorNamingTheVariables() throws {
        let service = TokenService(username: "ada", password: Self.password, lifetime: 3600)
        let lab = try Self.lab(count: 2, credentials: Self.grantSettings, service: service) { service.authorises($0) }
        defer { lab.server.shutdown() }
        let wrong = "wr0ng-passw0rd"

        let sync = try lab.run(["sync"], environment: ["LAB_USER": "ada", "LAB_PASSWORD": wrong])

        #expect(sync.status == 5, "\(sync.stderr)")
        #expect(sync.stderr.contains("archive 'lab': the token service \(lab.server.baseURL)/oauth/token refused the user name in LAB_USER and the password in LAB_PASSWORD (HTTP 400)"), "\(sync.stderr)")
        #expect(lab.fileRequests.isEmpty)
        #expect(service.grants == 0)
        try lab.expectNowhere([wrong], outputs: [sync])

        let missing = try lab.run(["sync"], environment: ["LAB_USER": "ada"])
        #expect(missing.status == 5)
        #expect(missing.stderr.contains("skipped 2 exclusive-access files without a token; set LAB_PASSWORD"), "\(missing.stderr)")
        #expect(lab.fileRequests.isEmpty)
    }
}
