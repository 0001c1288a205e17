import DatapinKit
@testable import DatapinArchives
@testable import DatapinSpec
import Foundation
import Testing
import TestSupport

/// MAST's token (`Authorization: token <t>`, only to the archive's hosts, never in a message),
/// `whoami`, and the factory's MAST adapter.
@Suite("MASTCredentials")
struct MASTCredentialsTests {
    static let token = "s3cret-mast-token"

    static func config(url: String?, kind: ArchiveKind = .mast) -> ArchiveConfig {
        ArchiveConfig(name: kind == .mast ? "mast" : "other", kind: kind, url: url, tokenEnv: "MAST_API_TOKEN")
    }

    static func credentials(url: String?, kind: ArchiveKind = .mast) -> ArchiveCredentials {
        ArchiveCredentials.resolve(config(url: url, kind: kind), environment: ["MAST_API_TOKEN": token])
    }

    @Test(arguments: [(ArchiveKind.mast, "token s3cret-mast-token"), (.eso, "Bearer s3cret-mast-token"), (.scicat, "Bearer s3cret-mast-token"), (.index, "Bearer s3cret-mast-token")])
    func mastUsesItsOwnTokenSchemeOthersBearer(kind: ArchiveKind, expected: String) {
        #expect(Self.credentials(url: "https://example.org/api", kind: kind).headers["Authorization"] == expected)
    }

    @Test func theTokenGoesToMASTsHostsOnly() {
        let credentials = Self.credentials(url: "http://127.0.0.1:8080")
        #expect(credentials.hosts == ["mast.stsci.edu", "127.0.0.1"])
        let connection = MASTConnection(archiveName: "mast", baseURL: "http://127.0.0.1:8080", credentials: credentials, client: HTTPClient())
        #expect(connection.authorizationHeaders(for: "https://mast.stsci.edu/whoami") == ["Authorization": "token \(Self.token)"])
        #expect(connection.authorizationHeaders(for: "http://127.0.0.1:8080/api/v0/invoke") == ["Authorization": "token \(Self.token)"])
        #expect(connection.authorizationHeaders(for: "https://stpubdata.s3.amazonaws.com/jwst/x.fits").isEmpty)
    }

    @Test func listingsCarryTheToken() async throws {
        let server = try LoopbackServer { request in
            request.path == "/api/v0/invoke"
                ? .json(MASTProtocolTests.portalAnswer(rows: [MASTProtocolTests.portalRow("a_c0f.fits")]))
                : .json(#"{"products": [\#(MASTProtocolTests.row("jwA", access: "EXCLUSIVE_ACCESS"))]}"#)
        }
        defer { server.shutdown() }
        let archive = try ArchiveFactory.make(Self.config(url: server.baseURL), specDirectory: URL(fileURLWithPath: "/"), environment: ["MAST_API_TOKEN": Self.token])

        let products = try await archive.products(for: MASTTestSupport.entry(mission: "jwst", ids: ["jwA"], obsids: ["2003738726"]))
        #expect(products.map(\.access) == [.exclusive, .public])
        #expect(server.requests.count == 2)
        #expect(server.requests.allSatisfy { $0.header("Authorization") == "token \(Self.token)" })
    }

    @Test func withoutATokenNothingIsSent() async throws {
        let server = try LoopbackServer { _ in .json(#"{"products": [\#(MASTProtocolTests.row("jwA"))]}"#) }
        defer { server.shutdown() }
        let archive = try ArchiveFactory.make(Self.config(url: server.baseURL), specDirectory: URL(fileURLWithPath: "/"), environment: [:])

        _ = try await archive.products(for: MASTTestSupport.entry(mission: "jwst", ids: ["jwA"]))
        #expect(server.requests.first?.header("Authorization") == nil)
    }

    @Test(arguments: [401, 403])
    func aRefusedListingIsNotAuthorisedWithoutTheToken(status: Int) async throws {
        let server = try LoopbackServer { _ in .status(status, body: "token \(Self.token) is expired") }
        defer { server.shutdown() }
        let archive = MASTTestSupport.archive(server, credentials: Self.credentials(url: server.baseURL))

        let url = "\(server.baseURL)/search/jwst/api/v0.1/post_list_products"
        let error = await #expect(throws: ArchiveError.self) {
            try await archive.products(for: MASTTestSupport.entry(mission: "jwst", ids: ["jwA"]))
        }
        guard case .notAuthorised(url, status, _)? = error else {
            Issue.record("expected a refusal of \(url), got \(String(describing: error))")
            return
        }
        #expect(error?.message.contains("set MAST_API_TOKEN") == true)
        #expect(error?.message.contains("missing, expired or not authorised") == true)
        #expect(error?.message.contains(Self.token) == false)
        #expect(server.requests.first?.header("Authorization") == "token \(Self.token)")
    }

    // MARK: whoami

    @Test(arguments: [
        (#"{"anon": false, "attrib": {"display_name": "Jane Doe", "email": "jdoe@example.org"}, "ezid": "jdoe"}"#, "Jane Doe"),
        (#"{"anon": false, "attrib": {"display_name": "  "}, "ezid": "jdoe"}"#, "jdoe"),
        (#"{"anon": false, "ezid": "jdoe"}"#, "jdoe"),
        (#"{"anon": true, "attrib": {"display_name": "Anonymous"}, "ezid": "anonymous"}"#, nil),
        (#"{"anon": false}"#, nil),
        ("not json", nil),
    ] as [(String, String?)])
    func whoamiNamesTheTokensUser(answer: String, expected: String?) async throws {
        let server = try LoopbackServer { request in request.path == "/whoami" ? .json(answer) : .status(404) }
        defer { server.shutdown() }

        let config = Self.config(url: server.baseURL)
        #expect(ArchiveIdentity.loggedInUser(config: config, credentials: Self.credentials(url: server.baseURL)) == expected)
        let request = try #require(server.requests.first)
        #expect(request.method == "GET" && request.path == "/whoami")
        #expect(request.header("Authorization") == "token \(Self.token)")
    }

    @Test func whoamiIsNilOnAnErrorStatus() async throws {
        let server = try LoopbackServer { _ in .status(401) }
        defer { server.shutdown() }
        #expect(ArchiveIdentity.loggedInUser(config: Self.config(url: server.baseURL), credentials: Self.credentials(url: server.baseURL)) == nil)
    }

    @Test func whoamiAsksNothingWithoutATokenOrForAnotherArchive() async throws {
        let server = try LoopbackServer { _ in .json(#"{"anon": false, "ezid": "jdoe"}"#) }
        defer { server.shutdown() }

        let noToken = ArchiveCredentials.resolve(Self.config(url: server.baseURL), environment: [:])
        #expect(ArchiveIdentity.loggedInUser(config: Self.config(url: server.baseURL), credentials: noToken) == nil)
        #expect(ArchiveIdentity.loggedInUser(config: Self.config(url: server.baseURL, kind: .eso), credentials: Self.credentials(url: server.baseURL, kind: .eso)) == nil)
        #expect(server.requests.isEmpty)
    }

    @Test func whoamiRedirectedElsewhereDoesNotCarryTheToken() async throws {
        let other = try LoopbackServer { _ in .json(#"{"anon": false, "ezid": "elsewhere"}"#) }
        defer { other.shutdown() }
        let origin = try LoopbackServer { _ in .redirect(to: "http://localhost:\(other.port)/whoami") }
        defer { origin.shutdown() }

        _ = ArchiveIdentity.loggedInUser(config: Self.config(url: origin.baseURL), credentials: Self.credentials(url: origin.baseURL))
        #expect(origin.requests.first?.header("Authorization") == "token \(Self.token)")
        let forwarded = try #require(other.requests.first)
        #expect(forwarded.header("Authorization") == nil)
    }

    // MARK: factory

    @Test func theFactoryMakesTheMASTAdapter() async throws {
        #expect(ArchiveRegistry.definitions.contains { $0.kind == .mast })
        let builtIn = try #require(ArchiveRegistry.builtInArchives.first { $0.kind == .mast })
        let archive = try #require(try ArchiveFactory.make(builtIn, specDirectory: URL(fileURLWithPath: "/")) as? MASTArchive)
        #expect(archive.name == "mast")
        #expect(archive.baseURL == "https://mast.stsci.edu")

        let mirror = try #require(try ArchiveFactory.make(Self.config(url: "http://127.0.0.1:8080/"), specDirectory: URL(fileURLWithPath: "/")) as? MASTArchive)
        #expect(mirror.baseURL == "http://127.0.0.1:8080")
    }
}
