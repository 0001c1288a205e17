import DatapinKit
@testable import DatapinArchives
@testable import DatapinSpec
import Foundation
import Testing
import TestSupport

/// `username_env`/`password_env` on a SciCat archive log in at `POST <v3>/auth/login` through the
/// platform's renewing credential source, which asks again before the JWT's `exp`.
@Suite struct SciCatLoginTests {
    @Test func theSpecsLoginVariablesResolveToSciCatsLoginAndRenewBeforeExpiry() throws {
        let scicat = try FakeSciCat(datasets: FakeSciCat.Sample.datasets(), users: ["ponder": "octarine"], tokenLifetime: 2)
        defer { scicat.shutdown() }
        let config = ArchiveConfig(name: "ess", kind: .scicat, url: scicat.v4, usernameEnv: "SCICAT_USER", passwordEnv: "SCICAT_PASSWORD", files: scicat.files)
        let credentials = ArchiveCredentials.resolve(config, environment: ["SCICAT_USER": "ponder", "SCICAT_PASSWORD": "octarine"])
        let source = try #require(credentials.source as? RenewingCredentialSource)
        #expect(credentials.hosts.contains("127.0.0.1"))
        try source.check()
        let first = try source.waitForHeaders()
        #expect(first["Authorization"] == "Bearer \(scicat.issuedTokens.first ?? "-")")
        #expect(try source.waitForHeaders() == first, "a fresh token is reused")
        Thread.sleep(forTimeInterval: 1.7)
        let renewed = try source.waitForHeaders()
        #expect(source.grants == 2, "a 2 s token is renewed a quarter of its lifetime before its exp")
        #expect(renewed != first && renewed["Authorization"] == "Bearer \(scicat.issuedTokens.last ?? "-")")
        let logins = scicat.requests.filter { $0.path == "/api/v3/auth/login" }
        #expect(logins.count == 2 && logins.allSatisfy { $0.header("Content-Type") == "application/json" })
    }

    @Test func aRefusedLoginNamesBothVariables() throws {
        let scicat = try FakeSciCat(datasets: [], users: ["ponder": "octarine"])
        defer { scicat.shutdown() }
        let config = ArchiveConfig(name: "ess", kind: .scicat, url: scicat.v3, usernameEnv: "SCICAT_USER", passwordEnv: "SCICAT_PASSWORD")
        let source = try #require(ArchiveCredentials.resolve(config, environment: ["SCICAT_USER": "ponder", "SCICAT_PASSWORD": "nope"]).source)
        #expect(throws: CredentialFailure.grantRefused(usernameVariable: "SCICAT_USER", passwordVariable: "SCICAT_PASSWORD", url: scicat.v3 + "/auth/login", status: 401)) {
            try source.check()
        }
    }

    @Test func withoutTheVariablesNothingIsSent() {
        let config = ArchiveConfig(name: "ess", kind: .scicat, url: "https://scicat.ess.eu/api/v3", usernameEnv: "SCICAT_USER", passwordEnv: "SCICAT_PASSWORD")
        let credentials = ArchiveCredentials.resolve(config, environment: ["SCICAT_USER": "ponder"])
        #expect(credentials.source == nil && credentials.missingVariable == "SCICAT_PASSWORD")
    }
}
