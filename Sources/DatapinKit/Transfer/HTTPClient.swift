import CCurl
import DatapinSupport
import Foundation

/// One metadata request: a catalog, a JSON or VOTable answer. Bulk downloads go through the
/// transfer engine, not here.
public struct HTTPRequest: Sendable, Hashable {
    /// `http://`, `https://` or `file://`.
    public var url: String
    /// `GET`, `HEAD`, `POST`, or any other verb (sent as a custom request).
    public var method: String
    /// Extra header fields; they are never sent to another host after a redirect.
    public var headers: [String: String]
    public var body: Data?
    /// The whole exchange, redirects included, must finish within this many seconds.
    public var timeoutSeconds: Int
    /// Whether a redirect is followed; when not, the 3xx answer is the response.
    public var followsRedirects: Bool

    public init(url: String, method: String = "GET", headers: [String: String] = [:], body: Data? = nil, timeoutSeconds: Int = 60, followsRedirects: Bool = true) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
        self.followsRedirects = followsRedirects
    }
}

/// The final answer to an `HTTPRequest`, after redirects.
public struct HTTPResponse: Sendable, Hashable {
    /// The HTTP status; 200 for a `file://` URL that was read.
    public var status: Int
    /// Header fields of the final response; names lowercased, the last of a repeated name wins.
    public var headers: [String: String]
    /// The body, decoded when the server compressed it.
    public var body: Data
    /// The URL that answered, after redirects.
    public var effectiveURL: String

    public init(status: Int, headers: [String: String], body: Data, effectiveURL: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.effectiveURL = effectiveURL
    }

    /// True for a 2xx status.
    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Why an `HTTPRequest` got no HTTP answer. URLs in it never carry user credentials.
public enum HTTPClientError: Error, Sendable, Hashable {
    /// The connection, TLS, a redirect, a timeout or a local file read failed.
    case transport(url: String, reason: String)
    /// The request cannot be sent as given (a header with a line break, a URL with a NUL).
    case invalidRequest(url: String, reason: String)
    /// The answer was cut off because it passed a `TransferLimits` bound (size or inflation).
    case answerTooLarge(url: String, reason: String)

    /// One plain sentence for the user.
    public var message: String {
        switch self {
        case .transport(let url, let reason): return "request to \(url) failed: \(reason)"
        case .invalidRequest(let url, let reason): return "cannot send a request to \(url): \(reason)"
        case .answerTooLarge(let url, let reason): return "the answer from \(url) was refused: \(reason)"
        }
    }
}

/// A libcurl client for archive metadata queries, one easy handle per request. The blocking
/// `send` runs on the caller's thread: call it from a plain thread, never from Swift
/// concurrency's cooperative pool. The async `send` runs the same call on a thread of its own
/// and resumes the caller when it ends, after `limiter` gives the request's host a slot.
/// Follows up to 10 redirects (unless the request says not to) without carrying headers such as
/// `Authorization` to another host; accepts compressed answers. `limits` bounds each answer's size and inflation and ends
/// a request whose server stalls.
public struct HTTPClient: Sendable {
    public let userAgent: String
    public let limits: TransferLimits
    /// Bounds the async requests open at once to one host; shared by every copy of this client.
    public let limiter: HostLimiter

    public init(userAgent: String = Curl.userAgent, limits: TransferLimits = .environmentOrDefault, limiter: HostLimiter = HostLimiter()) {
        self.userAgent = userAgent
        self.limits = limits
        self.limiter = limiter
    }

    /// Sends `request` on a thread of its own once `limiter` admits its host, and returns the
    /// final response, whatever its status.
    public func send(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPResponse {
        let host = URL(string: request.url)?.host?.lowercased() ?? ""
        await limiter.acquire(host)
        let result = await OwnThread.run { () -> Result<HTTPResponse, HTTPClientError> in
            do throws(HTTPClientError) {
                return .success(try send(request))
            } catch {
                return .failure(error)
            }
        }
        await limiter.release(host)
        return try result.get()
    }

    /// Sends `request` and returns the final response, whatever its status.
    public func send(_ request: HTTPRequest) throws(HTTPClientError) -> HTTPResponse {
        let shownURL = Self.redactingUserInfo(request.url)
        guard !request.url.contains("\0") else { throw .invalidRequest(url: shownURL, reason: "the URL contains a NUL character") }
        for (name, value) in request.headers {
            guard !name.isEmpty, !(name + value).unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }), !name.contains(":") else {
                throw .invalidRequest(url: shownURL, reason: "header '\(name)' is not a valid header field")
            }
        }
        Curl.ensureInitialised()
        guard let handle = curl_easy_init() else { throw .transport(url: shownURL, reason: "libcurl could not create a handle") }
        defer { curl_easy_cleanup(handle) }

        let collector = ResponseCollector(handle: handle, limits: limits)
        let collectorPointer = Unmanaged.passUnretained(collector).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            // "Name;" is libcurl's spelling of a header with an empty value.
            headerList = curl_slist_append(headerList, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            var setup = CURLE_OK
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            set(datapin_easy_setopt_string(handle, CURLOPT_URL, request.url))
            set(datapin_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https,file"))
            set(datapin_easy_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
            set(datapin_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, request.followsRedirects ? 1 : 0))
            set(datapin_easy_setopt_long(handle, CURLOPT_MAXREDIRS, 10))
            set(datapin_easy_setopt_long(handle, CURLOPT_UNRESTRICTED_AUTH, 0))
            set(datapin_easy_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""))
            set(datapin_easy_setopt_string(handle, CURLOPT_USERAGENT, userAgent))
            set(datapin_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            set(datapin_easy_setopt_long(handle, CURLOPT_TIMEOUT, max(1, request.timeoutSeconds)))
            set(datapin_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, max(1, min(request.timeoutSeconds, 30))))
            set(datapin_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress))
            set(datapin_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
            set(datapin_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, userdata in
                guard let data, let userdata else { return 0 }
                let collector = Unmanaged<ResponseCollector>.fromOpaque(userdata).takeUnretainedValue()
                guard collector.admit(size * count) else { return 0 }
                data.withMemoryRebound(to: UInt8.self, capacity: size * count) { collector.body.append($0, count: size * count) }
                return size * count
            }))
            set(datapin_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, collectorPointer))
            set(datapin_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, userdata in
                guard let data, let userdata else { return 0 }
                let collector = Unmanaged<ResponseCollector>.fromOpaque(userdata).takeUnretainedValue()
                collector.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
                return size * count
            }))
            set(datapin_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, collectorPointer))
            set(datapin_easy_setopt_long(handle, CURLOPT_NOPROGRESS, 0))
            set(datapin_easy_setopt_xferinfo_callback(handle, { userdata, _, downloaded, _, _ in
                guard let userdata else { return 0 }
                return Unmanaged<ResponseCollector>.fromOpaque(userdata).takeUnretainedValue().hasStalled(received: downloaded) ? 1 : 0
            }))
            set(datapin_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, collectorPointer))
            set(configureMethod(of: request, on: handle))
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }

        if let refusal = collector.refusal { throw .answerTooLarge(url: shownURL, reason: refusal) }
        if collector.stalled { throw .transport(url: shownURL, reason: limits.stallReason) }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var reason = Curl.describe(code)
            if !detail.isEmpty, detail != reason { reason += " (\(Self.redactingUserInfo(detail).trimmingCharacters(in: .whitespacesAndNewlines)))" }
            throw .transport(url: shownURL, reason: reason)
        }
        var status = 0
        datapin_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var effective: UnsafeMutablePointer<CChar>?
        datapin_easy_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &effective)
        let effectiveURL = effective.map { String(cString: $0) } ?? request.url
        if status == 0, effectiveURL.lowercased().hasPrefix("file:") { status = 200 }
        return HTTPResponse(status: status, headers: collector.headers, body: collector.body, effectiveURL: Self.redactingUserInfo(effectiveURL))
    }

    private func configureMethod(of request: HTTPRequest, on handle: UnsafeMutableRawPointer) -> CURLcode {
        let method = request.method.uppercased()
        switch method {
        case "GET" where request.body == nil:
            return datapin_easy_setopt_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD":
            return datapin_easy_setopt_long(handle, CURLOPT_NOBODY, 1)
        case "POST":
            return setBody(request.body ?? Data(), on: handle)
        default:
            let result = datapin_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
            guard result == CURLE_OK, let body = request.body else { return result }
            return setBody(body, on: handle)
        }
    }

    /// Sends `body` as the request body; COPYPOSTFIELDS copies it, so it need not outlive the call.
    private func setBody(_ body: Data, on handle: UnsafeMutableRawPointer) -> CURLcode {
        let result = datapin_easy_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        guard result == CURLE_OK else { return result }
        guard !body.isEmpty else { return datapin_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "") }
        return body.withUnsafeBytes { bytes in
            datapin_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        }
    }

    /// `url` with any `user:password@` removed from its authority; other text is returned as is.
    public static func redactingUserInfo(_ url: String) -> String {
        var result = ""
        var rest = Substring(url)
        while let schemeEnd = rest.range(of: "://") {
            result += rest[..<schemeEnd.upperBound]
            let authorityAndAfter = rest[schemeEnd.upperBound...]
            let authorityEnd = authorityAndAfter.firstIndex(where: { "/?# \t\n\"'".contains($0) }) ?? authorityAndAfter.endIndex
            let authority = authorityAndAfter[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                result += authority[authority.index(after: at)...]
            } else {
                result += authority
            }
            rest = authorityAndAfter[authorityEnd...]
        }
        return result + rest
    }
}

/// Where libcurl's callbacks put the body and the header lines of the response being received,
/// and what keeps them within the client's limits.
private final class ResponseCollector {
    var body = Data()
    var headers: [String: String] = [:]
    /// Why the body was cut off (too large, or inflating too far), when it was.
    private(set) var refusal: String?
    /// Whether the server stalled and the request was ended for it.
    private(set) var stalled = false
    private let handle: UnsafeMutableRawPointer
    private let limits: TransferLimits
    /// Starts at the first header byte: an archive may think long before it answers (the
    /// request's timeout bounds that wait), but once answering it must keep sending.
    private var stallDetector: StallDetector
    private var answering = false

    init(handle: UnsafeMutableRawPointer, limits: TransferLimits) {
        self.handle = handle
        self.limits = limits
        self.stallDetector = StallDetector(limits)
    }

    /// Whether `count` more decoded body bytes stay within the limits; records why not.
    func admit(_ count: Int) -> Bool {
        let decoded = Int64(body.count) + Int64(count)
        if decoded > limits.maxAnswerBytes {
            refusal = "it is larger than \(limits.maxAnswerBytes) bytes, the most datapin reads of one answer (\(TransferLimits.maxAnswerSizeVariable) sets it)"
            return false
        }
        var received: curl_off_t = 0
        datapin_easy_getinfo_offset(handle, CURLINFO_SIZE_DOWNLOAD_T, &received)
        if limits.inflatesTooFar(decoded: decoded, received: Int64(received)) {
            refusal = "it decompresses to more than \(limits.maxExpansionRatio) times the \(ByteSize.format(Int64(received))) received (a compression bomb?)"
            return false
        }
        return true
    }

    /// Whether the answer has stalled, `received` being its body bytes so far.
    func hasStalled(received: curl_off_t) -> Bool {
        guard answering else { return false }
        if stallDetector.hasStalled(bytes: Int64(received)) { stalled = true }
        return stalled
    }

    /// A status line starts a new response (after a redirect or a 100 Continue): forget the previous headers.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if !answering || line.hasPrefix("HTTP/") {
            // Each response of a redirect chain counts its body from zero.
            answering = true
            stallDetector.reset()
        }
        if line.hasPrefix("HTTP/") {
            headers = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return }
        headers[name] = value
    }
}

/// Runs blocking work (a libcurl easy call) on a thread of its own and resumes the waiting task
/// with its result, so the work never holds one of the cooperative pool's few threads.
package enum OwnThread {
    package static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "datapin.http"
            thread.start()
        }
    }
}

/// At most `limit` requests open to one host at once; a request past the limit waits for a
/// slot, first come first served. One limiter is shared by every adapter of a run.
public actor HostLimiter {
    /// The default: at most 6 requests to one host at a time (`--jobs`).
    public static let defaultLimit = 6

    public let limit: Int
    private var open: [String: Int] = [:]
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    public init(limit: Int = HostLimiter.defaultLimit) {
        self.limit = max(1, limit)
    }

    /// Returns once `host` has a free slot, which the caller then holds until `release`.
    public func acquire(_ host: String) async {
        if open[host, default: 0] < limit {
            open[host, default: 0] += 1
            return
        }
        await withCheckedContinuation { waiting[host, default: []].append($0) }
    }

    /// Frees the caller's slot for `host`, handing it to the longest-waiting request if any.
    public func release(_ host: String) {
        if var queue = waiting[host], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[host] = queue
            next.resume()
        } else {
            open[host, default: 1] -= 1
        }
    }
}
