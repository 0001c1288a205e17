import CCurl
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

    public init(url: String, method: String = "GET", headers: [String: String] = [:], body: Data? = nil, timeoutSeconds: Int = 60) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
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

    /// One plain sentence for the user.
    public var message: String {
        switch self {
        case .transport(let url, let reason): return "request to \(url) failed: \(reason)"
        case .invalidRequest(let url, let reason): return "cannot send a request to \(url): \(reason)"
        }
    }
}

/// A synchronous libcurl client for archive metadata queries. Each call runs on the caller's
/// thread with its own easy handle: call it from a plain thread, never from Swift concurrency's
/// cooperative pool. Follows up to 10 redirects without carrying headers such as
/// `Authorization` to another host; accepts compressed answers.
public struct HTTPClient: Sendable {
    public let userAgent: String

    public init(userAgent: String = Curl.userAgent) {
        self.userAgent = userAgent
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

        let collector = ResponseCollector()
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
            set(datapin_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1))
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
            set(configureMethod(of: request, on: handle))
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }

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

/// Where libcurl's callbacks put the body and the header lines of the response being received.
private final class ResponseCollector {
    var body = Data()
    var headers: [String: String] = [:]

    /// A status line starts a new response (after a redirect or a 100 Continue): forget the previous headers.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
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
