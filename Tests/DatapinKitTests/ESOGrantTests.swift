import DatapinKit
@testable import DatapinArchives
@testable import DatapinSpec
import DatapinTransfer
import Foundation
import Synchronization
import Testing
import TestSupport

/// ESO's password grant against the loopback ESO: the GET it sends, the id_token it keeps, its
/// renewal before the JWT's `exp`, and the credentials an `eso` archive resolves to.
@Suite struct ESOGrantTests {
    /// A clock the test moves by hand.
    final class Clock: Sendable {
        private let current = Mutex(Date())
        var now: Date { current.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    @Test func theGrantSendsTheIDTokenAsBearerAndRepeatsItselfBeforeExp() throws {
        let archive = try FakeESO(FakeESO.Configuration.fors2())
        defer { archive.shutdown() }
        let clock = Clock()
        let source = RenewingCredentialSource(grant: .eso(tokenURL: archive.tokenURL), username: "ada", password: "correct horse",
                                              usernameVariable: "ESO_USER", passwordVariable: "ESO_PASSWORD", now: { clock.now })
        let first = try source.waitForHeaders()
        #expect(archive.issuedTokens.count == 1)
        #expect(first == ["Authorization": "Bearer \(archive.issuedTokens[0])"], "the id_token, not the access_token")
        let request = try #require(archive.requests.first { $0.path == "/sso/oidc/token" })
        #expect(request.method == "GET")
        #expect(request.uri.contains("response_type=id_token%20token&grant_type=password&client_id=clientid&username=ada&password=correct%20horse"))

        clock.advance(3600)
        #expect(try source.waitForHeaders() == first, "an hour into an 8 h token: kept")
        clock.advance(28800 - 3600 - 300)
        let renewed = try source.waitForHeaders()
        #expect(source.grants == 2, "renewed within 600 s of exp, by repeating the grant (ESO gives no refresh token)")
        #expect(renewed == ["Authorization": "Bearer \(archive.issuedTokens[1])"])
        #expect(renewed != first)
    }

    @Test func aWrongPasswordIsRefusedNamingTheVariablesAndNoSecret() throws {
        let archive = try FakeESO(FakeESO.Configuration.fors2())
        defer { archive.shutdown() }
        let source = RenewingCredentialSource(grant: .eso(tokenURL: archive.tokenURL), username: "ada", password: "wrong staple",
                                              usernameVariable: "ESO_USER", passwordVariable: "ESO_PASSWORD")
        #expect(throws: CredentialFailure.grantRefused(usernameVariable: "ESO_USER", passwordVariable: "ESO_PASSWORD", url: archive.tokenURL, status: 401)) {
            try source.check()
        }
    }

    @Test func anUnreachableTokenServiceIsNamedWithoutItsQuery() throws {
        let source = RenewingCredentialSource(grant: .eso(tokenURL: "http://127.0.0.1:9/sso/oidc/token"), username: "ada", password: "secret-pass",
                                              usernameVariable: "ESO_USER", passwordVariable: "ESO_PASSWORD", triesPerGrant: 1)
        do {
            try source.check()
            Issue.record("a grant from a closed port succeeded")
        } catch {
            #expect(error.message.contains("http://127.0.0.1:9/sso/oidc/token"))
            #expect(!error.message.contains("secret-pass"), "\(error.message)")
            #expect(!error.message.contains("username=ada"), "\(error.message)")
        }
    }

    @Test func anESOArchiveWithAUserAndPasswordResolvesToESOsGrantUnderItsURL() throws {
        let config = ArchiveConfig(name: "eso", kind: .eso, url: "http://127.0.0.1:8/", usernameEnv: "ESO_USER", passwordEnv: "ESO_PASSWORD")
        let resolved = ArchiveCredentials.resolve(config, environment: ["ESO_USER": "ada", "ESO_PASSWORD": "pw"])
        #expect(resolved.source is RenewingCredentialSource)
        #expect(resolved.hosts == ["127.0.0.1", "archive.eso.org", "dataportal.eso.org", "www.eso.org"])
        #expect(ESOKind.tokenURL(of: config) == "http://127.0.0.1:8/sso/oidc/token")
        #expect(ESOKind.tokenURL(of: ArchiveConfig(name: "eso", kind: .eso)) == "https://www.eso.org/sso/oidc/token")
        let explicit = ArchiveConfig(name: "eso", kind: .eso, url: "http://127.0.0.1:8/", tokenURL: "http://127.0.0.1:9/token")
        #expect(ESOKind.tokenURL(of: explicit) == "http://127.0.0.1:9/token")
        let missing = ArchiveCredentials.resolve(config, environment: ["ESO_USER": "ada"])
        #expect(missing.source == nil)
        #expect(missing.missingVariable == "ESO_PASSWORD")
    }
}
