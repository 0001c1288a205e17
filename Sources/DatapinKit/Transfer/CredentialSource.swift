import DatapinSupport
import Foundation

/// Where the credential headers of one archive's requests come from. It is asked at every
/// attempt, never once for a whole run, so a token that expires or is refused mid-run can be
/// replaced. Implementations never block the caller: a token still being fetched answers
/// `.pending` and calls back when it is there.
public protocol CredentialSource: AnyObject, Sendable {
    /// The headers to send now; `.pending` while a token is being fetched, and then `whenReady`
    /// is called once (on another thread) when asking again will answer.
    func headers(whenReady: @escaping @Sendable () -> Void) -> CredentialAnswer

    /// Tells the source that the archive refused the token of `generation` (HTTP 401 or 403).
    /// True when it will get a fresh one (ask `headers` again); false when it cannot (a static
    /// token), and the refusal stands.
    func refused(generation: Int) -> Bool

    /// Fails, before anything is transferred, when the token is known to be unusable: a JWT
    /// whose `exp` has passed, a password the token service refuses. May block while a token is
    /// fetched: call it from a thread that may wait, never from the transfer thread.
    func check() throws(CredentialFailure)
}

/// What a credential source answers.
public enum CredentialAnswer: Sendable, Hashable {
    /// Send these headers; `generation` names the token, so a refusal can say which one it was.
    case ready(headers: [String: String], generation: Int)
    /// A token is being fetched; the callback given says when to ask again.
    case pending
    /// No token can be had; the sentence says why and names the variables.
    case failed(CredentialFailure)
}

/// Why an archive's credentials cannot be used. Messages name the spec's variables, never a
/// secret.
public enum CredentialFailure: Error, Sendable, Hashable {
    /// A JWT whose `exp` is in the past. `source` says where the token came from ("the token in
    /// LAB_TOKEN").
    case expired(source: String, at: Date)
    /// The token service refused the user name and password (an HTTP error status).
    case grantRefused(usernameVariable: String, passwordVariable: String, url: String, status: Int)
    /// The token service could not be reached, or its answer held no token.
    case grantFailed(url: String, reason: String)
    /// The token service answered with a redirect (HTTP 3xx, to `location`'s host when it
    /// named one), which is never followed: the user name and password go only to `token_url`.
    case grantRedirected(url: String, status: Int, location: String?)

    /// One plain sentence for the user.
    public var message: String {
        switch self {
        case .expired(let source, let date):
            return "\(source) expired at \(JWT.utcTimestamp(date)); nothing was fetched. Get a new token and run `datapin sync` again"
        case .grantRefused(let username, let password, let url, let status):
            return "the token service \(url) refused the user name in \(username) and the password in \(password) (HTTP \(status)); check both variables and run `datapin sync` again"
        case .grantFailed(let url, let reason):
            return "no token could be had from \(url): \(reason)"
        case .grantRedirected(let url, let status, let location):
            let target = location.map { " to \($0)" } ?? ""
            return "the token service \(url) answered with a redirect (HTTP \(status))\(target); datapin sends the user name and password only to the token URL the spec gives, so set `token_url` to the address that grants tokens"
        }
    }
}

/// A token read once from an environment variable (`token_env`). It cannot renew itself, so a
/// refusal stands; a JWT among them is checked for expiry before any transfer.
public final class StaticTokenSource: CredentialSource {
    private let headerValue: String
    private let token: String
    /// The spec's variable the token came from, for messages.
    public let variable: String
    private let now: @Sendable () -> Date

    public init(token: String, scheme: String, variable: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.token = token
        self.headerValue = "\(scheme) \(token)"
        self.variable = variable
        self.now = now
    }

    public func headers(whenReady: @escaping @Sendable () -> Void) -> CredentialAnswer {
        .ready(headers: ["Authorization": headerValue], generation: 0)
    }

    public func refused(generation: Int) -> Bool { false }

    public func check() throws(CredentialFailure) {
        if let expiry = JWT.expiry(of: token), expiry <= now() {
            throw .expired(source: "the token in \(variable)", at: expiry)
        }
    }
}

extension CredentialSource {
    /// The headers to send now, waiting (on the calling thread) while a token is fetched; for
    /// callers outside the transfer engine, such as listings. Never call it from the transfer
    /// thread.
    public func waitForHeaders() throws(CredentialFailure) -> [String: String] {
        while true {
            let signal = DispatchSemaphore(value: 0)
            switch headers(whenReady: { signal.signal() }) {
            case .ready(let headers, _): return headers
            case .failed(let failure): throw failure
            case .pending: signal.wait()
            }
        }
    }
}
