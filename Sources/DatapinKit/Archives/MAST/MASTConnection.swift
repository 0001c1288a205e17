import DatapinTransfer
import Foundation

/// The HTTP side of every MAST request: the base URL, the token header (sent only to the
/// archive's own hosts), and HTTP failures and unreadable answers turned into `ArchiveError`.
struct MASTConnection: Sendable {
    /// The spec's name of the archive, for messages.
    let archiveName: String
    /// `https://mast.stsci.edu`, or the spec's `url:`, without a trailing slash.
    let baseURL: String
    /// Seconds one exchange may take: a listing of 1000 datasets is slow to assemble
    /// (astroquery allows MAST 600 s).
    let timeoutSeconds: Int
    let credentials: ArchiveCredentials
    /// The variables the credentials come from, for the sentence a refusal ends with.
    let credentialVariables: [String]
    let client: HTTPClient

    init(archiveName: String, baseURL: String?, credentials: ArchiveCredentials, credentialVariables: [String] = [], client: HTTPClient, timeoutSeconds: Int = 600) {
        self.archiveName = archiveName
        self.timeoutSeconds = timeoutSeconds
        self.credentialVariables = credentialVariables
        var base = baseURL?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if base.isEmpty { base = MASTKind.defaultURL }
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.credentials = credentials
        self.client = client
    }

    /// `baseURL` followed by `path` (which starts with `/`).
    func url(_ path: String) -> String { baseURL + path }

    /// The credential headers when `url`'s host is one of the archive's, else none.
    func authorizationHeaders(for url: String) -> [String: String] {
        guard let host = URL(string: url)?.host?.lowercased(), credentials.hosts.contains(host) else { return [:] }
        return credentials.headers
    }

    /// POSTs `object` as JSON and returns the answer's JSON object.
    func postJSON(_ path: String, _ object: [String: Any]) async throws(ArchiveError) -> MASTJSONObject {
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        } catch {
            throw .unsupportedRequest(archive: archiveName, reason: "the request to \(path) could not be written as JSON")
        }
        return try await exchange(url(path), method: "POST", contentType: "application/json", body: body)
    }

    /// POSTs an `application/x-www-form-urlencoded` body and returns the answer's JSON object.
    func postForm(_ path: String, _ form: [(String, String)]) async throws(ArchiveError) -> MASTJSONObject {
        let text = form.map { "\(Self.formEncoded($0.0))=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        return try await exchange(url(path), method: "POST", contentType: "application/x-www-form-urlencoded", body: Data(text.utf8))
    }

    /// GETs `path` and returns the answer's JSON object, blocking the calling thread (for
    /// `whoami`, asked outside any task).
    func getJSONBlocking(_ path: String) throws(ArchiveError) -> MASTJSONObject {
        let request = self.request(url(path), method: "GET", contentType: nil, body: nil)
        let response: HTTPResponse
        do {
            response = try client.send(request)
        } catch {
            throw .unreachable(url: HTTPClient.redactingUserInfo(request.url), reason: error.message)
        }
        return try answer(response, shownURL: HTTPClient.redactingUserInfo(request.url))
    }

    /// Sends one request; 401 and 403 are `.notAuthorised` (the token is missing, expired or not
    /// authorised), any other status but 2xx `.httpStatus`, a body that is not a JSON object
    /// `.malformedAnswer`. No message ever carries the token.
    private func exchange(_ url: String, method: String, contentType: String?, body: Data?) async throws(ArchiveError) -> MASTJSONObject {
        let shownURL = HTTPClient.redactingUserInfo(url)
        let response: HTTPResponse
        do {
            response = try await client.send(request(url, method: method, contentType: contentType, body: body))
        } catch {
            throw .unreachable(url: shownURL, reason: error.message)
        }
        return try answer(response, shownURL: shownURL)
    }

    private func request(_ url: String, method: String, contentType: String?, body: Data?) -> HTTPRequest {
        var headers = authorizationHeaders(for: url)
        headers["Accept"] = "application/json"
        if let contentType { headers["Content-Type"] = contentType }
        return HTTPRequest(url: url, method: method, headers: headers, body: body, timeoutSeconds: timeoutSeconds)
    }

    private func answer(_ response: HTTPResponse, shownURL: String) throws(ArchiveError) -> MASTJSONObject {
        if response.status == 401 || response.status == 403 {
            throw .notAuthorised(url: shownURL, status: response.status, advice: MASTKind.refusalAdvice(credentialVariables))
        }
        guard response.isSuccess else { throw .httpStatus(url: shownURL, status: response.status) }
        do {
            return try MASTJSONObject.parse(response.body)
        } catch {
            throw .malformedAnswer(url: shownURL, reason: error.reason)
        }
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func formEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// RFC 3986's unreserved characters: `A-Z a-z 0-9 - . _ ~`.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
