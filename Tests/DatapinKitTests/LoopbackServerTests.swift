import DatapinKit
import Foundation
import Testing
import TestSupport

@Suite("LoopbackServer")
struct LoopbackServerTests {
    static let content = Data("0123456789abcdefghij".utf8)

    /// A scratch folder holding `data/file.bin` (the 20 bytes of `content`) and `secret.txt` beside `data`.
    private func makeTree() throws -> (root: URL, served: URL) {
        let root = try TestEnvironment.makeScratchDirectory("loopback")
        let served = root.appendingPathComponent("data", isDirectory: true)
        try FileManager.default.createDirectory(at: served.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Self.content.write(to: served.appendingPathComponent("file.bin"))
        try Data("nested".utf8).write(to: served.appendingPathComponent("sub/inner name.txt"))
        try Data("secret".utf8).write(to: root.appendingPathComponent("secret.txt"))
        return (root, served)
    }

    @Test func servesAWholeFileWithLengthAndETag() throws {
        let tree = try makeTree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let server = try LoopbackServer(handler: LoopbackServer.files(root: tree.served))
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/file.bin"))
        #expect(response.status == 200)
        #expect(response.body == Self.content)
        #expect(response.headers["content-length"] == "20")
        #expect(response.headers["etag"]?.hasPrefix("\"20-") == true)

        let nested = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/sub/inner%20name.txt"))
        #expect(nested.status == 200)
        #expect(nested.body == Data("nested".utf8))
    }

    @Test(arguments: [
        ("bytes=5-", 206, "56789abcdefghij", "bytes 5-19/20"),
        ("bytes=0-3", 206, "0123", "bytes 0-3/20"),
        ("bytes=-4", 206, "ghij", "bytes 16-19/20"),
        ("bytes=20-", 416, "", "bytes */20"),
        ("bytes=99-", 416, "", "bytes */20"),
    ])
    func answersRangeRequests(range: String, status: Int, body: String, contentRange: String) throws {
        let tree = try makeTree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let server = try LoopbackServer(handler: LoopbackServer.files(root: tree.served))
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/file.bin", headers: ["Range": range]))
        #expect(response.status == status)
        #expect(response.headers["content-range"] == contentRange)
        #expect(String(decoding: response.body, as: UTF8.self) == body)
    }

    @Test func ignoresRangeWhenToldTo() throws {
        let tree = try makeTree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let server = try LoopbackServer(handler: LoopbackServer.files(root: tree.served, honourRange: false))
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/file.bin", headers: ["Range": "bytes=5-"]))
        #expect(response.status == 200)
        #expect(response.body == Self.content)
        #expect(response.headers["content-range"] == nil)
    }

    @Test func headAnswersTheLengthWithoutABody() throws {
        let tree = try makeTree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let server = try LoopbackServer(handler: LoopbackServer.files(root: tree.served))
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/file.bin", method: "HEAD"))
        #expect(response.status == 200)
        #expect(response.headers["content-length"] == "20")
        #expect(response.body.isEmpty)
    }

    @Test(arguments: [
        ("/missing.bin", 404),
        ("/sub", 404),
        ("/%2e%2e/secret.txt", 403),
        ("/sub/%2E%2E/%2e%2e/secret.txt", 403),
    ])
    func refusesMissingFilesAndEscapes(path: String, status: Int) throws {
        let tree = try makeTree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let server = try LoopbackServer(handler: LoopbackServer.files(root: tree.served))
        defer { server.shutdown() }

        let response = try HTTPClient().send(HTTPRequest(url: server.baseURL + path))
        #expect(response.status == status)
        #expect(response.body != Data("secret".utf8))
    }

    @Test func recordsEveryRequestInOrder() throws {
        let server = try LoopbackServer { request in .text("seen \(request.method)") }
        defer { server.shutdown() }

        _ = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/api/v0.1/path_lookup/?uri=a%2Fb&uri=c+d&empty=&flag", headers: ["X-Trace": "one"]))
        _ = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/post", method: "POST", body: Data("QUERY=SELECT".utf8)))

        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[0].method == "GET")
        #expect(requests[0].path == "/api/v0.1/path_lookup/")
        #expect(requests[0].uri == "/api/v0.1/path_lookup/?uri=a%2Fb&uri=c+d&empty=&flag")
        #expect(requests[0].queryItems.map(\.value) == ["a/b", "c d", "", ""])
        #expect(requests[0].query["uri"] == "c d")
        #expect(requests[0].query["flag"] == "")
        #expect(requests[0].header("x-trace") == "one")
        #expect(requests[1].method == "POST")
        #expect(requests[1].bodyText == "QUERY=SELECT")
    }

    @Test(arguments: [LoopbackFault.resetAfter(bytes: 5), .truncateAfter(bytes: 5), .resetAfter(bytes: 0)])
    func aBrokenBodyIsATransportErrorForTheClient(fault: LoopbackFault) throws {
        let server = try LoopbackServer { _ in LoopbackResponse.ok(Data(repeating: 7, count: 1000)).with(fault: fault) }
        defer { server.shutdown() }

        #expect(throws: HTTPClientError.self) {
            try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/broken"))
        }
    }

    @Test func aSlowBodyArrivesWhole() throws {
        let body = Data((0..<64).map { UInt8($0) })
        let server = try LoopbackServer { _ in LoopbackResponse.ok(body).with(fault: .slow(chunkSize: 16, delayMilliseconds: 20)) }
        defer { server.shutdown() }

        let started = Date()
        let response = try HTTPClient().send(HTTPRequest(url: "\(server.baseURL)/slow"))
        #expect(response.body == body)
        #expect(Date().timeIntervalSince(started) >= 0.08)
    }

    @Test func shutdownIsIdempotentAndClosesThePort() throws {
        let server = try LoopbackServer { _ in .text("hello") }
        let url = "\(server.baseURL)/"
        #expect(try HTTPClient().send(HTTPRequest(url: url)).status == 200)
        server.shutdown()
        server.shutdown()
        #expect(throws: HTTPClientError.self) {
            try HTTPClient().send(HTTPRequest(url: url, timeoutSeconds: 5))
        }
    }
}
