import DatapinTransfer
import Foundation

/// The HTTP side of every SciCat request: the API base and its version, the token header (sent
/// only to the archive's own hosts), and HTTP failures turned into `ArchiveError`. SciCat
/// answers a token it does not accept as if the caller were anonymous, so a 403 or a "not
/// found" while a token is set says the token may be expired or lack access.
struct SciCatConnection: Sendable {
    /// Which of SciCat's API generations the base URL names.
    enum Version: Sendable, Hashable {
        case v3, v4
    }

    /// What came back: a JSON value, or nothing (an empty 200, or a 404).
    enum Answer {
        case json(Any)
        case empty
        case notFound
    }

    let archiveName: String
    /// The spec's `url:` without a trailing slash (`https://scicat.ess.eu/api/v3`).
    let baseURL: String
    let version: Version
    let credentials: ArchiveCredentials
    /// The spec's credential variables, for the sentence a refusal ends with.
    let credentialVariables: [String]
    let client: HTTPClient
    let timeoutSeconds: Int

    init(archiveName: String, baseURL: String, credentials: ArchiveCredentials, credentialVariables: [String], client: HTTPClient, timeoutSeconds: Int = 300) {
        var base = baseURL.trimmingCharacters(in: .whitespacesAndNewlines)
        while base.hasSuffix("/") { base.removeLast() }
        self.archiveName = archiveName
        self.baseURL = base
        self.version = Self.version(of: base)
        self.credentials = credentials
        self.credentialVariables = credentialVariables
        self.client = client
        self.timeoutSeconds = timeoutSeconds
    }

    /// v4 when the base's path ends in `/api/v4` (or `/v4`), else v3.
    static func version(of base: String) -> Version {
        let path = (URL(string: base)?.path ?? base).lowercased()
        return path.hasSuffix("/v4") ? .v4 : .v3
    }

    /// Where `POST /auth/login` is: under v3 whichever base the spec gives (auth exists only there).
    static func loginURL(base: String) -> String {
        var base = base.trimmingCharacters(in: .whitespacesAndNewlines)
        while base.hasSuffix("/") { base.removeLast() }
        if version(of: base) == .v4 { base = String(base.dropLast(2)) + "v3" }
        return base + "/auth/login"
    }

    /// True when a token is configured and its variables are set.
    var hasToken: Bool { credentials.hasToken }

    /// `baseURL` followed by `path` (which starts with `/`) and an encoded query.
    func url(_ path: String, query: [(String, String)] = []) -> String {
        guard !query.isEmpty else { return baseURL + path }
        return baseURL + path + "?" + query.map { "\(SciCatProducts.segment($0.0))=\(SciCatProducts.segment($0.1))" }.joined(separator: "&")
    }

    /// GETs `url`: a 404 is `.notFound`, an empty 200 `.empty`; 401 and 403 are `.notAuthorised`
    /// with advice about `subject` (the dataset or search asked for), any other status but 2xx
    /// `.httpStatus`, a body that is not JSON `.malformedAnswer`.
    func get(_ url: String, subject: String) async throws(ArchiveError) -> Answer {
        var headers = authorizationHeaders(for: url)
        headers["Accept"] = "application/json"
        let response: HTTPResponse
        do {
            response = try await client.send(HTTPRequest(url: url, headers: headers, timeoutSeconds: timeoutSeconds))
        } catch {
            throw .unreachable(url: HTTPClient.redactingUserInfo(url), reason: error.message)
        }
        let shown = HTTPClient.redactingUserInfo(url)
        if response.status == 404 { return .notFound }
        if response.status == 401 || response.status == 403 {
            throw .notAuthorised(url: shown, status: response.status, advice: refusalAdvice(subject))
        }
        guard response.isSuccess else { throw .httpStatus(url: shown, status: response.status) }
        do {
            guard let value = try SciCatJSON.parse(response.body) else { return .empty }
            return .json(value)
        } catch {
            throw .malformedAnswer(url: shown, reason: error.reason)
        }
    }

    /// The credential headers when `url`'s host is one of the archive's, else none.
    func authorizationHeaders(for url: String) -> [String: String] {
        guard let host = URL(string: url)?.host?.lowercased(), credentials.hosts.contains(host) else { return [:] }
        return credentials.headers
    }

    /// What a dataset SciCat does not show means: with a token, that the token may be expired or
    /// not give access (naming the variable, and the expiry when the JWT says it passed); without,
    /// that the dataset is unpublished or missing and how to log in.
    func refusalAdvice(_ subject: String) -> String {
        guard let source = credentials.source else {
            return "\(subject) is not published or does not exist; to read unpublished data, set 'token_env' (a SciCat token) or 'username_env'/'password_env' on the archive"
        }
        let origin = credentials.origin ?? "the token"
        do {
            try source.check()
        } catch {
            return "\(subject) is not visible: \(error.message)"
        }
        let variables = credentialVariables.joined(separator: " and ")
        return "\(subject) is not visible with \(origin); SciCat treats a token it does not accept as anonymous, so the token may be expired or lack access to it (check \(variables.isEmpty ? "the token" : variables))"
    }
}
