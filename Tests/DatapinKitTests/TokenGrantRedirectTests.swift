import DatapinKit
import Foundation
import Testing
import TestSupport

/// A token service that answers with a redirect never gets the password sent on: the redirect
/// is an error, and the address it names hears nothing.
@Suite struct TokenGrantRedirectTests {
    static let password = "c0rrect-h0rse-battery"

    @Test(arguments: [301, 302, 303, 307, 308])
    func aRedirectFromTheTokenServiceIsAnErrorAndIsNotFollowed(status: Int) throws {
        let service = TokenService(username: "ada", password: Self.password, lifetime: 3600)
        let elsewhere = try LoopbackServer { request in service.answer(request) ?? .status(404) }
        defer { elsewhere.shutdown() }
        let redirecting = try LoopbackServer { _ in .redirect(to: "\(elsewhere.baseURL)/oauth/token", status: status) }
        defer { redirecting.shutdown() }
        let source = RenewingCredentialSource(grant: .oauth2Password(tokenURL: "\(redirecting.baseURL)/oauth/token"), username: "ada", password: Self.password,
                                              usernameVariable: "LAB_USER", passwordVariable: "LAB_PASSWORD", retryDelay: 0)

        #expect(throws: CredentialFailure.grantRedirected(url: "\(redirecting.baseURL)/oauth/token", status: status, location: "127.0.0.1")) {
            try source.check()
        }
        #expect(redirecting.requests.count == 1, "a redirect is not a failure that passes: asked once")
        #expect(elsewhere.requests.isEmpty, "the password went to the redirect's address")
        #expect(service.grants == 0)
    }

    @Test func theRedirectMessageSaysWhatToChange() {
        let failure = CredentialFailure.grantRedirected(url: "https://auth.example.org/token", status: 302, location: "login.example.org")
        #expect(failure.message == "the token service https://auth.example.org/token answered with a redirect (HTTP 302) to login.example.org; datapin sends the user name and password only to the token URL the spec gives, so set `token_url` to the address that grants tokens")
        #expect(!failure.message.contains(Self.password))
    }

    @Test func theSameServiceWithoutARedirectGrantsAToken() throws {
        let service = TokenService(username: "ada", password: Self.password, lifetime: 3600)
        let server = try LoopbackServer { request in service.answer(request) ?? .status(404) }
        defer { server.shutdown() }
        let source = RenewingCredentialSource(grant: .oauth2Password(tokenURL: "\(server.baseURL)/oauth/token"), username: "ada", password: Self.password,
                                              usernameVariable: "LAB_USER", passwordVariable: "LAB_PASSWORD", retryDelay: 0)

        #expect(try source.waitForHeaders() == ["Authorization": "Bearer \(service.tokens[0])"])
        #expect(service.grants == 1)
    }
}
