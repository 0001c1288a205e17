import DatapinTransfer
import Foundation

/// The HTTP side of every IVOA request an adapter makes: credential headers (only to the
/// archive's own hosts), form bodies, and HTTP failures, refusals and unreadable or failed
/// VOTables turned into `ArchiveError`s. No message ever carries a credential.
public struct VOConnection: Sendable {
    /// The spec's name of the archive, for messages.
    public let archiveName: String
    public let client: HTTPClient
    public let credentials: ArchiveCredentials
    /// The sentence a 401 or 403 ends with (the archive's own, naming its variables).
    public let refusalAdvice: String
    /// Seconds one exchange may take.
    public let timeoutSeconds: Int

    public init(archiveName: String, client: HTTPClient, credentials: ArchiveCredentials = ArchiveCredentials(),
                refusalAdvice: String = "the service refused the request", timeoutSeconds: Int = 600) {
        self.archiveName = archiveName
        self.client = client
        self.credentials = credentials
        self.refusalAdvice = refusalAdvice
        self.timeoutSeconds = timeoutSeconds
    }

    /// The credential headers when `url`'s host is one of the archive's, else none.
    func authorizationHeaders(for url: String) -> [String: String] {
        guard let host = URL(string: url)?.host?.lowercased(), credentials.hosts.contains(host) else { return [:] }
        return credentials.headers
    }

    /// Sends one request and returns the answer whatever its status; only a failed transport throws.
    func send(_ url: String, method: String, form: [(String, String)]? = nil, followsRedirects: Bool = true, timeoutSeconds: Int? = nil) async throws(ArchiveError) -> HTTPResponse {
        var headers = authorizationHeaders(for: url)
        var body: Data?
        if let form {
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = Data(Self.formBody(form).utf8)
        }
        let request = HTTPRequest(url: url, method: method, headers: headers, body: body, timeoutSeconds: timeoutSeconds ?? self.timeoutSeconds, followsRedirects: followsRedirects)
        do {
            return try await client.send(request)
        } catch {
            throw .unreachable(url: HTTPClient.redactingUserInfo(url), reason: error.message)
        }
    }

    /// Sends one request whose answer is a VOTable and reads it: 401 and 403 are
    /// `.notAuthorised`; an error status whose body is a VOTable with an ERROR status is that
    /// error; another error status is `.httpStatus`; a body that is no VOTable is
    /// `.malformedAnswer`; an ERROR status in a 2xx answer is `queryFailed`.
    func votable(_ url: String, method: String, form: [(String, String)]? = nil, what: String) async throws(ArchiveError) -> VOTableDocument {
        let response = try await send(url, method: method, form: form)
        return try await read(response, url: url, what: what)
    }

    /// Reads `response` (to a request to `url`) as a VOTable, as `votable` does.
    func read(_ response: HTTPResponse, url: String, what: String) async throws(ArchiveError) -> VOTableDocument {
        let shownURL = HTTPClient.redactingUserInfo(url)
        if response.status == 401 || response.status == 403 {
            throw .notAuthorised(url: shownURL, status: response.status, advice: refusalAdvice)
        }
        let body = response.body
        let parsed = await OwnThread.run { () -> Result<VOTableDocument, VOTableError> in
            do throws(VOTableError) {
                return .success(try VOTableDocument.parse(body))
            } catch {
                return .failure(error)
            }
        }
        guard response.isSuccess else {
            if case .success(let document) = parsed, case .error(let message) = document.queryStatus {
                throw queryFailed(what, message)
            }
            throw .httpStatus(url: shownURL, status: response.status)
        }
        let document: VOTableDocument
        switch parsed {
        case .success(let read): document = read
        case .failure(let error): throw .malformedAnswer(url: shownURL, reason: error.message)
        }
        if case .error(let message) = document.queryStatus { throw queryFailed(what, message) }
        return document
    }

    /// The error for a service that answered with an ERROR status: its own message in a sentence.
    func queryFailed(_ what: String, _ message: String) -> ArchiveError {
        .unsupportedRequest(archive: archiveName, reason: "\(what) failed: \(message)")
    }

    /// `name=value&…`, every name and value percent-encoded but RFC 3986's unreserved characters.
    static func formBody(_ form: [(String, String)]) -> String {
        form.map { "\(formEncoded($0.0))=\(formEncoded($0.1))" }.joined(separator: "&")
    }

    static func formEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// RFC 3986's unreserved characters: `A-Z a-z 0-9 - . _ ~`.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
