import DatapinSupport
import Foundation

/// One way of trading a user name and password for a token: the request to send and how to
/// read the answer. Archives differ only here (an OAuth2 password grant, ESO's GET with
/// `id_token`, SciCat's JSON login); `RenewingCredentialSource` does the rest.
public struct TokenGrant: Sendable {
    /// The token service, as shown in messages (no user name, no password).
    public var shownURL: String
    /// The host the password goes to, lowercased: the archive's auth host.
    public var host: String?
    /// The request that asks for a token for `username` and `password`.
    public var request: @Sendable (_ username: String, _ password: String) -> HTTPRequest
    /// How the token is read from a successful answer.
    public var answer: TokenAnswer

    public init(shownURL: String, host: String?, answer: TokenAnswer, request: @escaping @Sendable (_ username: String, _ password: String) -> HTTPRequest) {
        self.shownURL = shownURL
        self.host = host?.lowercased()
        self.answer = answer
        self.request = request
    }

    /// OAuth2's Resource Owner Password Credentials grant (RFC 6749 §4.3): `POST tokenURL` with
    /// the form `grant_type=password&username=…&password=…` (and `client_id` when given),
    /// answered `{"access_token", "token_type", "expires_in"}`.
    public static func oauth2Password(tokenURL: String, clientID: String? = nil) -> TokenGrant {
        TokenGrant(shownURL: HTTPClient.redactingUserInfo(tokenURL), host: URLParts.host(of: tokenURL), answer: .oauth2) { username, password in
            var form = [("grant_type", "password"), ("username", username), ("password", password)]
            if let clientID { form.append(("client_id", clientID)) }
            let body = form.map { "\(formEncoded($0.0))=\(formEncoded($0.1))" }.joined(separator: "&")
            return HTTPRequest(url: tokenURL, method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"], body: Data(body.utf8), timeoutSeconds: 60)
        }
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, for a form body.
    static func formEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

/// Where a token service's JSON answer keeps the token to send and its lifetime.
public struct TokenAnswer: Sendable, Hashable {
    /// The key of the token to send (`access_token`; ESO sends its `id_token`).
    public var tokenKey: String
    /// The key of the token's lifetime in seconds, when the service gives one.
    public var expiresInKey: String?

    public init(tokenKey: String, expiresInKey: String? = "expires_in") {
        self.tokenKey = tokenKey
        self.expiresInKey = expiresInKey
    }

    /// RFC 6749's `{"access_token", "expires_in"}`.
    public static let oauth2 = TokenAnswer(tokenKey: "access_token")

    /// The token in `body`, or nil when `body` is not a JSON object with a non-empty string
    /// under `tokenKey`.
    public func read(_ body: Data) -> GrantedToken? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let token = (object[tokenKey] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty
        else { return nil }
        let lifetime = expiresInKey.flatMap { key -> TimeInterval? in
            if let number = object[key] as? NSNumber { return number.doubleValue }
            return (object[key] as? String).flatMap(TimeInterval.init)
        }
        return GrantedToken(token: token, expiresIn: lifetime.flatMap { $0 > 0 && $0.isFinite ? $0 : nil })
    }
}

/// A token a service granted, with the lifetime it announced.
public struct GrantedToken: Sendable, Hashable {
    public var token: String
    /// Seconds the token lives from when it was granted, when the answer said.
    public var expiresIn: TimeInterval?

    public init(token: String, expiresIn: TimeInterval?) {
        self.token = token
        self.expiresIn = expiresIn
    }

    /// When a token granted at `grantedAt` should be replaced: before its JWT `exp` (or, for a
    /// token that is not a JWT, its `expires_in`), early by 600 s as astroquery does, or by a
    /// quarter of its lifetime when that is shorter, so a short-lived token is still used.
    /// Never, when neither is known: only a refusal replaces it.
    public func renewalDate(grantedAt: Date) -> Date {
        let expiry = JWT.expiry(of: token) ?? expiresIn.map { grantedAt.addingTimeInterval($0) }
        guard let expiry else { return .distantFuture }
        let lifetime = max(0, expiry.timeIntervalSince(grantedAt))
        return expiry.addingTimeInterval(-min(600, lifetime / 4))
    }
}

/// A token from a password grant (`username_env`/`password_env`), fetched when first asked for
/// and fetched again before it expires or after the archive refuses it. Grants run on a thread
/// of their own, never the caller's: requests that need the token meanwhile are told to wait.
/// The user name, the password and the token stay in memory.
public final class RenewingCredentialSource: CredentialSource, @unchecked Sendable {
    private let grant: TokenGrant
    private let username: String
    private let password: String
    /// The spec's variables, for messages.
    public let usernameVariable: String
    public let passwordVariable: String
    private let scheme: String
    private let client: HTTPClient
    private let now: @Sendable () -> Date
    /// Tries per grant when the service fails in a way that may pass (network, HTTP 5xx).
    private let triesPerGrant: Int
    private let retryDelay: TimeInterval

    private let lock = NSLock()
    private var current: (headers: [String: String], generation: Int, renewAt: Date)?
    private var generation = 0
    private var renewing = false
    private var waiters: [@Sendable () -> Void] = []
    private var failure: CredentialFailure?
    private var grantCount = 0

    public init(grant: TokenGrant, username: String, password: String, usernameVariable: String, passwordVariable: String, scheme: String = "Bearer",
                client: HTTPClient = HTTPClient(), triesPerGrant: Int = 3, retryDelay: TimeInterval = 1, now: @escaping @Sendable () -> Date = { Date() }) {
        self.grant = grant
        self.username = username
        self.password = password
        self.usernameVariable = usernameVariable
        self.passwordVariable = passwordVariable
        self.scheme = scheme
        self.client = client
        self.triesPerGrant = max(1, triesPerGrant)
        self.retryDelay = retryDelay
        self.now = now
    }

    /// How many grants were asked for so far.
    public var grants: Int { lock.withLock { grantCount } }

    public func headers(whenReady: @escaping @Sendable () -> Void) -> CredentialAnswer {
        let start: Bool
        let answer: CredentialAnswer
        lock.lock()
        if let failure {
            answer = .failed(failure)
            start = false
        } else if let current, now() < current.renewAt {
            answer = .ready(headers: current.headers, generation: current.generation)
            start = false
        } else {
            waiters.append(whenReady)
            start = !renewing
            renewing = true
            answer = .pending
        }
        lock.unlock()
        if start {
            let thread = Thread { [self] in renew() }
            thread.name = "datapin-token-grant"
            thread.start()
        }
        return answer
    }

    public func refused(generation refusedGeneration: Int) -> Bool {
        lock.withLock {
            if current?.generation == refusedGeneration { current = nil }
        }
        return true
    }

    public func check() throws(CredentialFailure) {
        _ = try waitForHeaders()
    }

    /// On the grant thread: asks for a token, trying again after failures that may pass, and
    /// wakes everyone waiting.
    private func renew() {
        var outcome: Result<GrantedToken, CredentialFailure> = .failure(.grantFailed(url: grant.shownURL, reason: "no answer"))
        for attempt in 1...triesPerGrant {
            if attempt > 1 { Thread.sleep(forTimeInterval: retryDelay * Double(attempt - 1)) }
            let (result, transient) = askOnce()
            outcome = result
            if case .success = result { break }
            if !transient { break }
        }
        let grantedAt = now()
        if case .success(let granted) = outcome, let expiry = JWT.expiry(of: granted.token), expiry <= grantedAt {
            outcome = .failure(.expired(source: "the token \(grant.shownURL) granted for \(usernameVariable)", at: expiry))
        }
        let woken: [@Sendable () -> Void] = lock.withLock {
            switch outcome {
            case .success(let granted):
                generation += 1
                current = (["Authorization": "\(scheme) \(granted.token)"], generation, granted.renewalDate(grantedAt: grantedAt))
            case .failure(let problem):
                failure = problem
            }
            renewing = false
            defer { waiters.removeAll() }
            return waiters
        }
        for wake in woken { wake() }
    }

    /// One grant request: the token, or why not and whether trying again may help. A redirect is
    /// never followed (it would take the password to another address): it is the answer.
    private func askOnce() -> (Result<GrantedToken, CredentialFailure>, transient: Bool) {
        lock.withLock { grantCount += 1 }
        var request = grant.request(username, password)
        request.followsRedirects = false
        let response: HTTPResponse
        do {
            response = try client.send(request)
        } catch {
            // The client's messages name the URL without user information, never the body; a
            // grant whose password is in the query (ESO's GET) is shown by its `shownURL`.
            let reason = error.message.replacingOccurrences(of: HTTPClient.redactingUserInfo(request.url), with: grant.shownURL)
            return (.failure(.grantFailed(url: grant.shownURL, reason: reason)), true)
        }
        guard response.isSuccess else {
            let status = response.status
            if (300..<400).contains(status) {
                let location = response.headers["location"].flatMap { URL(string: $0, relativeTo: URL(string: grant.shownURL))?.host }
                return (.failure(.grantRedirected(url: grant.shownURL, status: status, location: location)), false)
            }
            if status == 408 || status == 429 || status >= 500 {
                return (.failure(.grantFailed(url: grant.shownURL, reason: "it answered HTTP \(status)")), true)
            }
            return (.failure(.grantRefused(usernameVariable: usernameVariable, passwordVariable: passwordVariable, url: grant.shownURL, status: status)), false)
        }
        guard let granted = grant.answer.read(response.body) else {
            return (.failure(.grantFailed(url: grant.shownURL, reason: "its answer is not a JSON object with a '\(grant.answer.tokenKey)'")), false)
        }
        return (.success(granted), false)
    }
}
