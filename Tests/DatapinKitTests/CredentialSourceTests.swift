import DatapinKit
@testable import DatapinArchives
@testable import DatapinSpec
@testable import DatapinSupport
@testable import DatapinTransfer
import Foundation
import Testing
import TestSupport

/// JWT `exp` decoding, token answers (ESO's real one included), the static token and the
/// renewing password grant against a loopback OAuth2 token service, and how `ArchiveCredentials`
/// picks a source from the spec's variables.
@Suite("CredentialSources")
struct CredentialSourceTests {
    static func esoFixture() throws -> Data {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try Data(contentsOf: root.appendingPathComponent("eso/oidc_token.json"))
    }

    /// A clock the test moves by hand.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var current = Date()
        var now: Date { lock.withLock { current } }
        func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
    }

    // MARK: JWT

    @Test func theExpiryOfAJWTIsReadFromItsBase64URLPayload() throws {
        let eso = try #require(try JSONSerialization.jsonObject(with: Self.esoFixture()) as? [String: Any])
        let idToken = try #require(eso["id_token"] as? String)
        #expect(JWT.expiry(of: idToken) == Date(timeIntervalSince1970: 1_678_628_959))
        // Payloads whose base64url holds `_` and `-` (standard base64's `/` and `+`), unpadded and padded.
        let underscore = "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDAsIm4iOiI_Pz4ifQ.c2ln"
        let dash = "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDAsIm4iOiJ-fn4ifQ==.c2ln"
        #expect(JWT.expiry(of: underscore) == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(JWT.expiry(of: dash) == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(JWT.expiry(of: TestJWT.make(exp: 1_600_000_000)) == Date(timeIntervalSince1970: 1_600_000_000))
    }

    @Test(arguments: [
        "", "opaque-token-123", "a.b", "a.b.c.d", ".eyJleHAiOjF9.x", "eyJhbGciOiJub25lIn0..x",
        "eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDAsIm4iOiI/Pz4ifQ.c2ln",  // standard base64's `/` is not base64url
        "eyJhbGciOiJub25lIn0.bm90IGpzb24.c2ln",                              // "not json"
        "eyJhbGciOiJub25lIn0.WzEsMl0.c2ln",                                  // [1,2]: not an object
        "eyJhbGciOiJub25lIn0.e.c2ln",                                        // a length base64 cannot have
    ])
    func aTokenThatIsNotAJWTHasNoExpiry(token: String) {
        #expect(JWT.expiry(of: token) == nil)
    }

    @Test func aJWTWithoutANumericExpHasNoExpiry() {
        #expect(JWT.expiry(of: TestJWT.make(["sub": "ada"])) == nil)
        #expect(JWT.expiry(of: TestJWT.make(["exp": "1700000000"])) == nil)
        #expect(JWT.expiry(of: TestJWT.make(["exp": NSNull()])) == nil)
    }

    @Test func expiryTimesAreShownInUTCISO8601() {
        #expect(JWT.utcTimestamp(Date(timeIntervalSince1970: 1_600_000_000)) == "2020-09-13T12:26:40Z")
    }

    // MARK: Token answers

    @Test func esosAnswerGivesItsIdTokenAndEightHours() throws {
        let granted = try #require(TokenAnswer(tokenKey: "id_token").read(Self.esoFixture()))
        #expect(granted.token.hasPrefix("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."))
        #expect(granted.expiresIn == 28_800)
        #expect(TokenAnswer.oauth2.read(try Self.esoFixture())?.token == "some-access-token")
    }

    @Test func anAnswerWithoutTheTokenGivesNone() {
        #expect(TokenAnswer.oauth2.read(Data(#"{"error":"invalid_grant"}"#.utf8)) == nil)
        #expect(TokenAnswer.oauth2.read(Data(#"{"access_token":""}"#.utf8)) == nil)
        #expect(TokenAnswer.oauth2.read(Data("<html>login</html>".utf8)) == nil)
        #expect(TokenAnswer.oauth2.read(Data(#"{"access_token":"abc"}"#.utf8)) == GrantedToken(token: "abc", expiresIn: nil))
    }

    @Test func aTokenIsRenewedSixHundredSecondsEarlyOrAQuarterOfItsLifeWhenThatIsShorter() {
        let granted = Date(timeIntervalSince1970: 1_000_000)
        let eightHours = GrantedToken(token: TestJWT.make(exp: 1_000_000 + 28_800), expiresIn: 3)
        #expect(eightHours.renewalDate(grantedAt: granted) == Date(timeIntervalSince1970: 1_000_000 + 28_800 - 600), "the JWT's exp wins over expires_in")
        #expect(GrantedToken(token: TestJWT.make(exp: 1_000_004), expiresIn: nil).renewalDate(grantedAt: granted) == Date(timeIntervalSince1970: 1_000_003))
        #expect(GrantedToken(token: "opaque", expiresIn: 3600).renewalDate(grantedAt: granted) == Date(timeIntervalSince1970: 1_000_000 + 3000))
        #expect(GrantedToken(token: "opaque", expiresIn: nil).renewalDate(grantedAt: granted) == .distantFuture)
    }

    @Test func thePasswordGrantIsRFC6749sForm() throws {
        let request = TokenGrant.oauth2Password(tokenURL: "https://auth.lab.example/realms/lab/protocol/openid-connect/token", clientID: "datapin")
            .request("ada@lab", "p&ss=w rd+")
        #expect(request.method == "POST")
        #expect(request.headers["Content-Type"] == "application/x-www-form-urlencoded")
        #expect(String(decoding: try #require(request.body), as: UTF8.self) == "grant_type=password&username=ada%40lab&password=p%26ss%3Dw%20rd%2B&client_id=datapin")
        #expect(TokenGrant.oauth2Password(tokenURL: "https://Auth.Lab.example/token").host == "auth.lab.example")
    }

    // MARK: Static token

    @Test func anExpiredStaticJWTIsRefusedNamingItsVariableAndExpiry() throws {
        let source = StaticTokenSource(token: TestJWT.make(exp: 1_600_000_000), scheme: "Bearer", variable: "LAB_TOKEN")
        #expect(throws: CredentialFailure.expired(source: "the token in LAB_TOKEN", at: Date(timeIntervalSince1970: 1_600_000_000))) { try source.check() }
        let message = CredentialFailure.expired(source: "the token in LAB_TOKEN", at: Date(timeIntervalSince1970: 1_600_000_000)).message
        #expect(message.hasPrefix("the token in LAB_TOKEN expired at 2020-09-13T12:26:40Z; nothing was fetched"))
        try StaticTokenSource(token: "opaque-never-checked", scheme: "Bearer", variable: "LAB_TOKEN").check()
        try StaticTokenSource(token: TestJWT.make(exp: Int(Date().timeIntervalSince1970) + 3600), scheme: "Bearer", variable: "LAB_TOKEN").check()
    }

    @Test func aStaticTokenCannotRenew() {
        let source = StaticTokenSource(token: "t", scheme: "token", variable: "MAST_API_TOKEN")
        #expect(source.headers(whenReady: {}) == .ready(headers: ["Authorization": "token t"], generation: 0))
        #expect(source.refused(generation: 0) == false)
    }

    // MARK: Password grant

    static func grantSource(_ server: LoopbackServer, _ service: TokenService, password: String? = nil, clock: Clock? = nil) -> RenewingCredentialSource {
        RenewingCredentialSource(grant: .oauth2Password(tokenURL: server.baseURL + service.path), username: service.username, password: password ?? service.password,
                                 usernameVariable: "LAB_USER", passwordVariable: "LAB_PASSWORD", retryDelay: 0.01, now: { clock?.now ?? Date() })
    }

    /// `headers` once the source has answered, waiting for its callback at most 10 s.
    static func answer(of source: any CredentialSource) -> CredentialAnswer {
        let signal = DispatchSemaphore(value: 0)
        let first = source.headers { signal.signal() }
        guard first == .pending else { return first }
        _ = signal.wait(timeout: .now() + 10)
        return source.headers {}
    }

    @Test func aGrantIsAskedForOnceAndWaitedForWithoutBlockingTheCaller() throws {
        let service = TokenService(username: "ada", password: "correct horse", lifetime: 3600)
        let server = try LoopbackServer { service.answer($0) ?? .status(404) }
        defer { server.shutdown() }
        let source = Self.grantSource(server, service)

        let woken = DispatchSemaphore(value: 0)
        #expect(source.headers { woken.signal() } == .pending, "the first ask returns at once; the grant runs on its own thread")
        #expect(woken.wait(timeout: .now() + 10) == .success)
        #expect(source.headers {} == .ready(headers: ["Authorization": "Bearer \(service.tokens[0])"], generation: 1))
        #expect(source.headers {} == .ready(headers: ["Authorization": "Bearer \(service.tokens[0])"], generation: 1))
        #expect(service.grants == 1)
        #expect(server.requests.first?.formFields == ["grant_type": "password", "username": "ada", "password": "correct horse"])
    }

    @Test func aTokenNearItsExpiryIsReplacedByANewGrant() throws {
        let service = TokenService(username: "ada", password: "pw", lifetime: 3600)
        let server = try LoopbackServer { service.answer($0) ?? .status(404) }
        defer { server.shutdown() }
        let clock = Clock()
        let source = Self.grantSource(server, service, clock: clock)

        #expect(Self.answer(of: source) == .ready(headers: ["Authorization": "Bearer \(service.tokens[0])"], generation: 1))
        clock.advance(3600 - 660)
        #expect(source.headers {} == .ready(headers: ["Authorization": "Bearer \(service.tokens[0])"], generation: 1), "still 660 s to go")
        clock.advance(120)
        #expect(Self.answer(of: source) == .ready(headers: ["Authorization": "Bearer \(service.tokens[1])"], generation: 2), "within 600 s of exp: renewed")
        #expect(service.grants == 2)
    }

    @Test func aRefusedTokenIsReplacedOnceWhateverHowManyTransfersReportIt() throws {
        let service = TokenService(username: "ada", password: "pw", lifetime: 3600)
        let server = try LoopbackServer { service.answer($0) ?? .status(404) }
        defer { server.shutdown() }
        let source = Self.grantSource(server, service)
        #expect(Self.answer(of: source) != .pending)

        #expect(source.refused(generation: 1))
        #expect(Self.answer(of: source) == .ready(headers: ["Authorization": "Bearer \(service.tokens[1])"], generation: 2))
        #expect(source.refused(generation: 1), "a late report of the old token")
        #expect(source.headers {} == .ready(headers: ["Authorization": "Bearer \(service.tokens[1])"], generation: 2))
        #expect(service.grants == 2)
    }

    @Test func aWrongPasswordNamesBothVariablesAndNeverThePassword() throws {
        let service = TokenService(username: "ada", password: "pw", lifetime: 3600)
        let server = try LoopbackServer { service.answer($0) ?? .status(404) }
        defer { server.shutdown() }
        let source = Self.grantSource(server, service, password: "wrong-s3cret")

        let expected = CredentialFailure.grantRefused(usernameVariable: "LAB_USER", passwordVariable: "LAB_PASSWORD", url: server.baseURL + service.path, status: 400)
        #expect(throws: expected) { try source.check() }
        #expect(expected.message.contains("LAB_USER") && expected.message.contains("LAB_PASSWORD") && !expected.message.contains("wrong-s3cret"))
        #expect(source.headers {} == .failed(expected))
        #expect(server.requests.count == 1, "a refused password is not tried again")
    }

    @Test func aGrantThatFailsForAMomentIsTriedAgain() throws {
        let service = TokenService(username: "ada", password: "pw", lifetime: 3600)
        let attempts = Attempts()
        let server = try LoopbackServer { request in attempts.next(request.path) == 1 ? .status(503) : (service.answer(request) ?? .status(404)) }
        defer { server.shutdown() }
        let source = Self.grantSource(server, service)

        try source.check()
        #expect(server.requests.count == 2)
        #expect(source.grants == 2)
    }

    @Test func aGrantedTokenAlreadyExpiredIsRefused() throws {
        let expired = TestJWT.make(exp: 1_600_000_000)
        let server = try LoopbackServer { _ in .json(#"{"access_token":"\#(expired)","token_type":"Bearer","expires_in":300}"#) }
        defer { server.shutdown() }
        let source = Self.grantSource(server, TokenService(username: "ada", password: "pw", lifetime: 1))

        #expect(throws: CredentialFailure.expired(source: "the token \(server.baseURL)/oauth/token granted for LAB_USER", at: Date(timeIntervalSince1970: 1_600_000_000))) { try source.check() }
    }

    // MARK: The spec

    @Test func anIndexArchiveNamesItsTokenService() throws {
        let archive = ["version: 1", "archives:", "  lab:", "    type: index", "    url: https://data.lab.example/catalog.json",
                       "    username_env: LAB_USER", "    password_env: LAB_PASSWORD"]
        let datasets = ["datasets:", "  - archive: lab"]
        let loaded = try SpecSamples.load(SpecSamples.text(archive + ["    token_url: https://auth.lab.example/token"] + datasets))
        #expect(loaded.spec.archivesByName["lab"]?.tokenURL == "https://auth.lab.example/token")
        let ftp = SpecSamples.diagnostics(SpecSamples.text(archive + ["    token_url: ftp://auth.lab.example/token"] + datasets))
        #expect(ftp.contains { $0.message.contains("token_url") && $0.location?.line == 8 })
        let onMAST = SpecSamples.diagnostics(SpecSamples.text(["version: 1", "archives:", "  mast: {token_url: https://auth.example/token}"] + datasets))
        #expect(onMAST.contains { $0.message.hasPrefix("'token_url' does not apply to archive 'mast' (type mast), which takes ") && $0.message.hasSuffix("; only index archives accept it") })
    }

    // MARK: Choosing a source

    static let lab = ArchiveConfig(name: "lab", kind: .index, url: "https://data.lab.example/catalog.json", tokenEnv: "LAB_TOKEN",
                                   usernameEnv: "LAB_USER", passwordEnv: "LAB_PASSWORD", tokenURL: "https://auth.lab.example/token")

    @Test func aTokenInTokenEnvWinsOverThePasswordGrant() {
        let credentials = ArchiveCredentials.resolve(Self.lab, environment: ["LAB_TOKEN": " t0k ", "LAB_USER": "ada", "LAB_PASSWORD": "pw"])
        #expect(credentials.source is StaticTokenSource)
        #expect(credentials.headers == ["Authorization": "Bearer t0k"])
        #expect(credentials.hosts == ["data.lab.example"], "the token goes to the archive's hosts, not the auth host")
        #expect(credentials.origin == "the token in LAB_TOKEN")
    }

    @Test func withoutATokenTheUserNameAndPasswordAreGrantedAtTokenURL() {
        let credentials = ArchiveCredentials.resolve(Self.lab, environment: ["LAB_USER": "ada", "LAB_PASSWORD": "pw"])
        let source = credentials.source as? RenewingCredentialSource
        #expect(source?.usernameVariable == "LAB_USER" && source?.passwordVariable == "LAB_PASSWORD")
        #expect(credentials.missingVariable == nil)
        #expect(credentials.origin == "the token granted for LAB_USER")
    }

    @Test func missingVariablesAreNamed() {
        #expect(ArchiveCredentials.resolve(Self.lab, environment: ["LAB_USER": "ada"]).missingVariable == "LAB_PASSWORD")
        #expect(ArchiveCredentials.resolve(Self.lab, environment: [:]).missingVariable == "LAB_USER and LAB_PASSWORD")
        var tokenOnly = Self.lab
        tokenOnly.tokenURL = nil
        #expect(ArchiveCredentials.resolve(tokenOnly, environment: [:]).missingVariable == "LAB_TOKEN")
        #expect(!ArchiveCredentials.resolve(tokenOnly, environment: [:]).hasToken)
    }
}
