import Foundation
import Synchronization
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP/1.1 server on 127.0.0.1 (ephemeral port, keep-alive) for tests: every request is
/// recorded and answered by a handler, which can also ask for transport faults.
public final class LoopbackServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let state: LoopbackState
    /// The port the server listens on.
    public let port: Int

    /// Starts listening; `handler` is called for every request, on a NIO thread (must not block).
    public init(handler: @escaping @Sendable (LoopbackRequest) -> LoopbackResponse) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = LoopbackState()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(LoopbackHTTPHandler(handler: handler, state: state))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        do {
            channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        guard let port = channel.localAddress?.port else {
            try? channel.close().wait()
            try? group.syncShutdownGracefully()
            throw LoopbackServerError.noPort
        }
        self.group = group
        self.state = state
        self.port = port
    }

    deinit { shutdown() }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request received so far, in the order they arrived.
    public var requests: [LoopbackRequest] { state.requests }

    /// Stops listening and closes every connection; calling it again does nothing.
    public func shutdown() {
        guard state.markShutDown() else { return }
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// A handler that serves the files under `root`: GET and HEAD, `Content-Length`, an `ETag`
    /// of size and modification time, `Range: bytes=N-` (or `N-M`) answered with 206 and
    /// `Content-Range` when `honourRange` (416 when N is past the end; the full file with 200
    /// otherwise), 404 for a missing file, 403 for a path that leaves `root`, 405 for other
    /// methods. Files are read on the server's thread: meant for small test files.
    public static func files(root: URL, honourRange: Bool = true) -> @Sendable (LoopbackRequest) -> LoopbackResponse {
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        return { request in
            guard request.method == "GET" || request.method == "HEAD" else {
                return .status(405, headers: [("Allow", "GET, HEAD")])
            }
            guard let decoded = request.path.removingPercentEncoding else { return .status(400) }
            let components = decoded.split(separator: "/", omittingEmptySubsequences: true)
            guard !components.contains(where: { $0 == ".." || $0 == "." }) else { return .status(403) }
            let filePath = ([rootPath] + components.map(String.init)).joined(separator: "/")
            let resolved = URL(fileURLWithPath: filePath).resolvingSymlinksInPath().path
            guard resolved == rootPath || resolved.hasPrefix(rootPath + "/") else { return .status(403) }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let attributes = try? FileManager.default.attributesOfItem(atPath: resolved),
                  let data = FileManager.default.contents(atPath: resolved)
            else { return .status(404) }
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return .serving(data, for: request, etag: "\"\(data.count)-\(Int64(modified))\"", honourRange: honourRange)
        }
    }
}

/// Counts requests per path, so a handler can misbehave on the first one only.
public final class Attempts: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    public init() {}

    /// The number of this request to `path`, from 1.
    public func next(_ path: String) -> Int {
        counts.withLock { counts in
            counts[path, default: 0] += 1
            return counts[path]!
        }
    }
}

/// Why the loopback server could not start.
public enum LoopbackServerError: Error, Sendable {
    case noPort

    /// One plain sentence.
    public var message: String {
        switch self {
        case .noPort: return "the loopback server bound a socket without a port"
        }
    }
}

/// One HTTP request as the loopback server received it.
public struct LoopbackRequest: Sendable {
    public var method: String
    /// The request target as sent: path and query, still percent-encoded.
    public var uri: String
    /// The raw (percent-encoded) path, without the query.
    public var path: String
    /// Query parameters, percent-decoded (`+` read as a space); for a repeated name the last wins.
    public var query: [String: String]
    /// Query parameters in order, repeats kept (MAST's `uri=…&uri=…`).
    public var queryItems: [(name: String, value: String)]
    /// Header fields in the order sent, names as sent.
    public var headers: [(String, String)]
    public var body: Data

    public init(method: String, uri: String, headers: [(String, String)], body: Data) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        let queryStart = uri.firstIndex(of: "?")
        path = queryStart.map { String(uri[..<$0]) } ?? uri
        let items = queryStart.map { Self.formPairs(uri[uri.index(after: $0)...]) } ?? []
        queryItems = items
        query = Dictionary(items.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The first value of header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The fields of an `application/x-www-form-urlencoded` body, decoded; for a repeated name
    /// the last wins.
    public var formFields: [String: String] {
        Dictionary(Self.formPairs(bodyText[...]).map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// `name=value&…` pairs in order, percent-decoded with `+` read as a space.
    private static func formPairs(_ text: Substring) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (formDecode(parts[0]), parts.count > 1 ? formDecode(parts[1]) : "")
        }
    }

    private static func formDecode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// What the loopback server answers: status, headers, body, and optionally a transport fault.
/// `Content-Length` is the body's size unless `headers` sets one (to lie on purpose).
public struct LoopbackResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    public var fault: LoopbackFault?

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data(), fault: LoopbackFault? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.fault = fault
    }

    /// 200 with `body`.
    public static func ok(_ body: Data, contentType: String = "application/octet-stream", headers: [(String, String)] = []) -> LoopbackResponse {
        LoopbackResponse(status: 200, headers: [("Content-Type", contentType)] + headers, body: body)
    }

    /// 200 with UTF-8 `text`.
    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> LoopbackResponse {
        LoopbackResponse(status: status, headers: [("Content-Type", contentType)], body: Data(text.utf8))
    }

    /// `status` with an optional UTF-8 body.
    public static func status(_ code: Int, body: String = "", headers: [(String, String)] = []) -> LoopbackResponse {
        LoopbackResponse(status: code, headers: headers, body: Data(body.utf8))
    }

    /// `status` (200 by default) with a JSON text as `application/json`.
    public static func json(_ text: String, status: Int = 200) -> LoopbackResponse {
        LoopbackResponse(status: status, headers: [("Content-Type", "application/json")], body: Data(text.utf8))
    }

    /// A VOTable (XML) text, as TAP and DataLink services answer.
    public static func votable(_ text: String, status: Int = 200) -> LoopbackResponse {
        LoopbackResponse(status: status, headers: [("Content-Type", "application/x-votable+xml")], body: Data(text.utf8))
    }

    /// A redirect to `location` (302 by default).
    public static func redirect(to location: String, status: Int = 302) -> LoopbackResponse {
        LoopbackResponse(status: status, headers: [("Location", location)])
    }

    /// `data` as a file download answering `request`: `Range: bytes=N-` (or `N-M`) gets 206 with
    /// `Content-Range` when `honourRange` (416 when N is past the end), anything else 200.
    public static func serving(_ data: Data, for request: LoopbackRequest, etag: String? = nil, honourRange: Bool = true) -> LoopbackResponse {
        let size = data.count
        var headers: [(String, String)] = [("Accept-Ranges", honourRange ? "bytes" : "none"), ("Content-Type", "application/octet-stream")]
        if let etag { headers.insert(("ETag", etag), at: 0) }
        if honourRange, let rangeHeader = request.header("Range") {
            switch ByteRange.parse(rangeHeader, size: size) {
            case .satisfiable(let range):
                headers.append(("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)"))
                return LoopbackResponse(status: 206, headers: headers, body: data.subdata(in: range))
            case .unsatisfiable:
                return LoopbackResponse(status: 416, headers: [("Content-Range", "bytes */\(size)")], body: Data())
            case .unsupported:
                break
            }
        }
        return LoopbackResponse(status: 200, headers: headers, body: data)
    }

    /// 200 with `data` gzip-compressed and labelled `Content-Encoding: gzip`, as a server
    /// sends a compressed answer to a client that accepts one.
    public static func gzipEncoded(_ data: Data, contentType: String = "application/json") throws -> LoopbackResponse {
        LoopbackResponse(status: 200, headers: [("Content-Type", contentType), ("Content-Encoding", "gzip")], body: try Gzip.compress(data))
    }

    /// An HTML page with `status` (200 by default), as a login or error page is served.
    public static func htmlPage(_ html: String = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>…</form></body></html>\n", status: Int = 200) -> LoopbackResponse {
        LoopbackResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8")], body: Data(html.utf8))
    }

    /// This response with a transport fault added.
    public func with(fault: LoopbackFault) -> LoopbackResponse {
        var copy = self
        copy.fault = fault
        return copy
    }
}

/// A transport-level misbehaviour the loopback server injects while sending a response body.
public enum LoopbackFault: Sendable, Hashable {
    /// Send the headers (full `Content-Length`) and the first `bytes` of the body, then reset the connection (SO_LINGER 0).
    case resetAfter(bytes: Int)
    /// Send the headers (full `Content-Length`) and the first `bytes` of the body, then close cleanly.
    case truncateAfter(bytes: Int)
    /// Send the body in chunks of `chunkSize` bytes, waiting `delayMilliseconds` before each.
    case slow(chunkSize: Int, delayMilliseconds: Int)
}

/// gzip compression for tests, through the system's `gzip` (best compression).
public enum Gzip {
    /// `data` as a gzip stream.
    public static func compress(_ data: Data) throws -> Data {
        let folder = try TestEnvironment.makeScratchDirectory("gzip")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("body")
        try data.write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-9", "-n", file.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw GzipError.failed(status: process.terminationStatus) }
        return try Data(contentsOf: folder.appendingPathComponent("body.gz"))
    }

    /// Why `gzip` did not compress.
    public enum GzipError: Error, Sendable {
        case failed(status: Int32)
    }
}

/// The outcome of reading a `Range` header against a file size.
enum ByteRange: Equatable {
    case satisfiable(Range<Int>)
    case unsatisfiable
    /// Not a single `bytes=` range this server understands: serve the whole file.
    case unsupported

    static func parse(_ header: String, size: Int) -> ByteRange {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes="), !trimmed.contains(",") else { return .unsupported }
        let spec = trimmed.dropFirst("bytes=".count)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .unsupported }
        if parts[0].isEmpty {
            guard let suffixLength = Int(parts[1]), suffixLength > 0 else { return .unsupported }
            guard size > 0 else { return .unsatisfiable }
            return .satisfiable(max(0, size - suffixLength)..<size)
        }
        guard let start = Int(parts[0]), start >= 0 else { return .unsupported }
        guard start < size else { return .unsatisfiable }
        if parts[1].isEmpty { return .satisfiable(start..<size) }
        guard let end = Int(parts[1]), end >= start else { return .unsupported }
        return .satisfiable(start..<min(end + 1, size))
    }
}

/// The server's shared, lock-protected state: the request log and whether it was shut down.
private final class LoopbackState: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [LoopbackRequest] = []
    private var isShutDown = false

    var requests: [LoopbackRequest] { lock.withLock { log } }

    func record(_ request: LoopbackRequest) {
        lock.withLock { log.append(request) }
    }

    /// True the first time only.
    func markShutDown() -> Bool {
        lock.withLock {
            defer { isShutDown = true }
            return !isShutDown
        }
    }
}

/// Collects one request at a time and writes the handler's response, with its fault if any.
private final class LoopbackHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: @Sendable (LoopbackRequest) -> LoopbackResponse
    private let state: LoopbackState
    private var head: HTTPRequestHead?
    private var body = Data()

    init(handler: @escaping @Sendable (LoopbackRequest) -> LoopbackResponse, state: LoopbackState) {
        self.handler = handler
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = Data()
        case .body(var buffer):
            if let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let request = LoopbackRequest(method: requestHead.method.rawValue, uri: requestHead.uri, headers: requestHead.headers.map { ($0.name, $0.value) }, body: body)
            state.record(request)
            respond(handler(request), to: requestHead, context: context)
        }
    }

    private func respond(_ response: LoopbackResponse, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        if !headers.contains(name: "Content-Length") {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        }
        let keepAlive: Bool
        switch response.fault {
        case nil, .slow: keepAlive = request.isKeepAlive
        case .resetAfter, .truncateAfter: keepAlive = false
        }
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let body = request.method == .HEAD ? Data() : response.body

        switch response.fault {
        case nil:
            writeBody(body, context: context)
            finish(context: context, keepAlive: keepAlive)
        case .truncateAfter(let bytes):
            let channel = context.channel
            let flushed = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(channel.allocator.buffer(bytes: body.prefix(max(0, bytes)))))))
            flushed.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
        case .resetAfter(let bytes):
            let channel = context.channel
            let flushed = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(channel.allocator.buffer(bytes: body.prefix(max(0, bytes)))))))
            flushed.assumeIsolated().whenComplete { _ in
                guard let provider = channel as? SocketOptionProvider else {
                    channel.close(promise: nil)
                    return
                }
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        case .slow(let chunkSize, let delayMilliseconds):
            context.flush()
            sendSlowly(body[...], chunkSize: max(1, chunkSize), delay: .milliseconds(Int64(max(0, delayMilliseconds))), context: context, keepAlive: keepAlive)
        }
    }

    private func writeBody(_ bytes: Data, context: ChannelHandlerContext) {
        guard !bytes.isEmpty else { return }
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
    }

    private func finish(context: ChannelHandlerContext, keepAlive: Bool) {
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func sendSlowly(_ remaining: Data.SubSequence, chunkSize: Int, delay: TimeAmount, context: ChannelHandlerContext, keepAlive: Bool) {
        context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            guard context.channel.isActive else { return }
            guard !remaining.isEmpty else {
                self.finish(context: context, keepAlive: keepAlive)
                return
            }
            let chunk = remaining.prefix(chunkSize)
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: chunk)))), promise: nil)
            self.sendSlowly(remaining.dropFirst(chunk.count), chunkSize: chunkSize, delay: delay, context: context, keepAlive: keepAlive)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
