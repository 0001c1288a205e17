import DatapinKit
import Foundation
import Testing
import TestSupport

@Suite("HTTPClient")
struct HTTPClientTests {
    @Test func getReturnsStatusLowercasedHeadersAndBody() throws {
        let server = try LoopbackServer { _ in
            LoopbackResponse(status: 200, headers: [("Content-Type", "application/json"), ("X-Archive", "first"), ("x-archive", "second")], body: Data("{\"ok\":true}".utf8))
        }
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/api?x=1"))
        #expect(response.status == 200)
        #expect(response.isSuccess)
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.headers["x-archive"] == "second")
        #expect(response.body == Data("{\"ok\":true}".utf8))
        #expect(response.effectiveURL == "\(server.baseURL)/api?x=1")
    }

    @Test func sendsUserAgentAcceptEncodingAndCustomHeaders() throws {
        let server = try LoopbackServer { _ in .text("ok") }
        defer { server.shutdown() }

        _ = try HTTPClient(userAgent: "datapin-test/1").send(HTTPRequest(url: "\(server.baseURL)/", headers: ["Accept": "application/x-votable+xml", "X-Empty": ""]))
        let request = try #require(server.requests.first)
        #expect(request.header("User-Agent") == "datapin-test/1")
        #expect(request.header("Accept") == "application/x-votable+xml")
        #expect(request.header("Accept-Encoding")?.contains("gzip") == true)
        #expect(request.header("X-Empty") == "")
    }

    @Test(arguments: [404, 500, 503])
    func anErrorStatusIsAnAnswerNotAThrow(status: Int) throws {
        let server = try LoopbackServer { _ in .status(status, body: "nope") }
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/x"))
        #expect(response.status == status)
        #expect(!response.isSuccess)
        #expect(response.body == Data("nope".utf8))
    }

    @Test(arguments: ["POST", "PUT", "DELETE"])
    func sendsTheMethodAndBody(method: String) throws {
        let server = try LoopbackServer { request in .text("\(request.method):\(request.bodyText)") }
        defer { server.shutdown() }

        let body = method == "DELETE" ? nil : Data("PHASE=RUN".utf8)
        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/async/job", method: method, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: body))
        #expect(String(decoding: response.body, as: UTF8.self) == "\(method):\(body.map { String(decoding: $0, as: UTF8.self) } ?? "")")
        #expect(server.requests.first?.method == method)
    }

    @Test func followsRedirectsAndReportsTheFinalURL() throws {
        let server = try LoopbackServer { request in
            switch request.path {
            case "/old": return .redirect(to: "/middle", status: 301)
            case "/middle": return .redirect(to: "/new?page=2")
            default: return .text("arrived at \(request.uri)")
            }
        }
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/old"))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "arrived at /new?page=2")
        #expect(response.effectiveURL == "\(server.baseURL)/new?page=2")
        #expect(server.requests.map(\.path) == ["/old", "/middle", "/new"])
    }

    @Test func aRedirectLoopIsATransportError() throws {
        let server = try LoopbackServer { _ in .redirect(to: "/again") }
        defer { server.shutdown() }

        #expect(throws: HTTPClientError.self) {
            try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/again"))
        }
        #expect(server.requests.count == 11)
    }

    @Test func authorizationIsNotCarriedToAnotherHostOnRedirect() throws {
        let other = try LoopbackServer { _ in .text("other host") }
        defer { other.shutdown() }
        let origin = try LoopbackServer { request in
            switch request.path {
            case "/same": return .redirect(to: "/landing")
            case "/away": return .redirect(to: "\(other.baseURL)/landing")
            default: return .text("origin")
            }
        }
        defer { origin.shutdown() }
        let client = HTTPClient()
        let headers = ["Authorization": "Bearer secret-token", "X-Api-Key": "k"]

        let away = try client.send(HTTPRequest(url: "\(origin.baseURL)/away", headers: headers))
        #expect(String(decoding: away.body, as: UTF8.self) == "other host")
        let otherRequest = try #require(other.requests.first)
        #expect(otherRequest.header("Authorization") == nil)
        #expect(origin.requests.first?.header("Authorization") == "Bearer secret-token")

        _ = try client.send(HTTPRequest(url: "\(origin.baseURL)/same", headers: headers))
        let landing = try #require(origin.requests.last)
        #expect(landing.path == "/landing")
        #expect(landing.header("Authorization") == "Bearer secret-token")
    }

    @Test func readsFileURLs() throws {
        let folder = try TestEnvironment.makeScratchDirectory("httpclient")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("a catalog.json")
        try Data("{\"datasets\":[]}".utf8).write(to: file)

        let response = try HTTPClient().send(HTTPRequest(url: file.absoluteString))
        #expect(response.status == 200)
        #expect(response.body == Data("{\"datasets\":[]}".utf8))

        #expect(throws: HTTPClientError.self) {
            try HTTPClient().send(HTTPRequest(url: folder.appendingPathComponent("missing.json").absoluteString))
        }
    }

    @Test func aTransportErrorNamesTheURLWithoutCredentials() throws {
        let closed = try LoopbackServer { _ in .text("") }
        let port = closed.port
        closed.shutdown()

        let error = try #require(throws: HTTPClientError.self) {
            try HTTPClient().send(HTTPRequest(url: "http://alice:hunter2@127.0.0.1:\(port)/catalog.json", timeoutSeconds: 5))
        }
        guard case .transport(let url, let reason) = error else {
            Issue.record("expected a transport error, got \(error)")
            return
        }
        #expect(url == "http://127.0.0.1:\(port)/catalog.json")
        #expect(!reason.isEmpty)
        #expect(!error.message.contains("hunter2"))
        #expect(!error.message.contains("alice"))
        #expect(error.message.contains("127.0.0.1:\(port)/catalog.json"))
    }

    @Test func aServerSlowerThanTheTimeoutIsATransportError() throws {
        let server = try LoopbackServer { _ in LoopbackResponse.ok(Data(count: 4)).with(fault: .slow(chunkSize: 1, delayMilliseconds: 600)) }
        defer { server.shutdown() }

        let error = try #require(throws: HTTPClientError.self) {
            try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/slow", timeoutSeconds: 1))
        }
        #expect(error.message.lowercased().contains("timeout") || error.message.lowercased().contains("timed out"))
    }

    @Test(arguments: [["Bad\nName": "x"], ["X-Ok": "line\r\nInjected: yes"], ["Colon:Name": "x"]])
    func refusesHeadersThatWouldSplitTheRequest(headers: [String: String]) throws {
        let server = try LoopbackServer { _ in .text("") }
        defer { server.shutdown() }

        let error = try #require(throws: HTTPClientError.self) {
            try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/", headers: headers))
        }
        guard case .invalidRequest = error else {
            Issue.record("expected invalidRequest, got \(error)")
            return
        }
        #expect(server.requests.isEmpty)
    }

    @Test(arguments: [
        ("https://user:pass@example.org/a?b=c", "https://example.org/a?b=c"),
        ("https://token@example.org", "https://example.org"),
        ("http://example.org:8080/x@y", "http://example.org:8080/x@y"),
        ("file:///data/catalog.json", "file:///data/catalog.json"),
        ("see https://u:p@a.org/x and sftp://me@b.org/y", "see https://a.org/x and sftp://b.org/y"),
        ("no url here", "no url here"),
    ])
    func redactsUserInfo(input: String, expected: String) {
        #expect(HTTPClient.redactingUserInfo(input) == expected)
    }
}
