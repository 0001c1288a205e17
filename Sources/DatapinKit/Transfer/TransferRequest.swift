import DatapinSupport
import Foundation

/// One file to download: where it comes from, where its bytes go while they stream, where the
/// verified file is placed, and what its bytes must be.
public struct TransferRequest: Sendable, Hashable {
    /// The caller's name for the request; results and events carry it back.
    public var id: Int
    /// `http://`, `https://`, `sftp://[user@]host[:port]/path` or `file://`.
    public var url: String
    /// Extra request headers. Credential headers (`Authorization`, `Cookie`,
    /// `Proxy-Authorization`) are sent only when the URL's host is in `credentialHosts`, and
    /// never after a redirect to another host.
    public var headers: [String: String]
    /// Hosts (lowercase, without port) that may receive the credential headers.
    public var credentialHosts: Set<String>
    /// Where the credential headers come from, asked at every attempt; sent only to
    /// `credentialHosts`, like the credential headers in `headers`.
    public var credentials: RequestCredentials?
    /// The SSH private key file (the archive's `ssh_key:`, `~` expanded) for an `sftp://` URL
    /// whose host is in `credentialHosts`; nil, or another host: the SSH agent and the first of
    /// `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
    public var sshKeyFile: String?
    /// The destination root: no folder between it and `finalPath` may be a symbolic link.
    public var rootPath: String
    /// Where the bytes stream to; kept between runs so a download can resume.
    public var partialPath: String
    /// Where the verified file is renamed to.
    public var finalPath: String
    public var expectedSize: Int64?
    /// Lowercase hexadecimal SHA-256 the bytes must have, when known.
    public var expectedSHA256: String?
    /// The archive's own checksum; verified when datapin knows its algorithm.
    public var checksum: Checksum?
    /// Continue from the bytes already in `partialPath` (after hashing them) instead of
    /// starting over: a `Range` request over HTTP(S), an offset over SFTP.
    public var allowResume: Bool

    public init(id: Int, url: String, headers: [String: String] = [:], credentialHosts: Set<String> = [], credentials: RequestCredentials? = nil, sshKeyFile: String? = nil, rootPath: String, partialPath: String, finalPath: String, expectedSize: Int64? = nil, expectedSHA256: String? = nil, checksum: Checksum? = nil, allowResume: Bool = true) {
        self.id = id
        self.url = url
        self.headers = headers
        self.credentialHosts = Set(credentialHosts.map { $0.lowercased() })
        self.credentials = credentials
        self.sshKeyFile = sshKeyFile
        self.rootPath = rootPath
        self.partialPath = partialPath
        self.finalPath = finalPath
        self.expectedSize = expectedSize
        self.expectedSHA256 = expectedSHA256?.lowercased()
        self.checksum = checksum
        self.allowResume = allowResume
    }

    /// Header names that carry credentials, lowercased.
    public static let credentialHeaderNames: Set<String> = ["authorization", "cookie", "proxy-authorization"]
}

/// A request's credential source; two are equal when they are the same source.
public struct RequestCredentials: Sendable, Hashable {
    public let source: any CredentialSource

    public init(_ source: any CredentialSource) {
        self.source = source
    }

    public static func == (lhs: RequestCredentials, rhs: RequestCredentials) -> Bool {
        ObjectIdentifier(lhs.source) == ObjectIdentifier(rhs.source)
    }

    public func hash(into hasher: inout Swift.Hasher) {
        hasher.combine(ObjectIdentifier(source))
    }
}

/// What became of one request.
public struct TransferResult: Sendable, Hashable {
    public var id: Int
    public var outcome: TransferOutcome
    /// Body bytes received over the network in this run, over every attempt.
    public var bytesTransferred: Int64
    /// The offset the last attempt continued from, when it did not start from the first byte.
    public var resumedFrom: Int64?
    /// How many tries were made (redirects do not count).
    public var attempts: Int

    public init(id: Int, outcome: TransferOutcome, bytesTransferred: Int64, resumedFrom: Int64?, attempts: Int) {
        self.id = id
        self.outcome = outcome
        self.bytesTransferred = bytesTransferred
        self.resumedFrom = resumedFrom
        self.attempts = attempts
    }
}

/// Whether a file was placed at its final path, and if not, why.
public enum TransferOutcome: Sendable, Hashable {
    /// Verified and renamed into place; `sha256` is the observed digest, for pinning.
    case placed(sha256: String, size: Int64)
    case failed(TransferFailure)
}

/// Why a file was not placed. Mismatched bytes are never placed; other partial data stays
/// for the next run to resume.
public enum TransferFailure: Error, Sendable, Hashable {
    /// The server answered with an error status.
    case httpStatus(url: String, status: Int)
    /// The server refused the credentials, or there were none (HTTP 401 or 403).
    case unauthorized(url: String, status: Int)
    /// The request's credential source could not give a token (a refused password, an expired
    /// token); `reason` is its sentence, naming the variables.
    case credentials(reason: String)
    /// The network failed: connection, timeout, stalled or truncated body.
    case transport(url: String, reason: String)
    /// The request cannot succeed as written: bad URL, unsupported scheme, missing source file,
    /// a redirect loop or a redirect to a scheme other than HTTP(S).
    case sourceError(url: String, reason: String)
    case sizeMismatch(expected: Int64, actual: Int64)
    /// `algorithm` is the checksum's name as the lock writes it (`sha256`, `blake2b`).
    case digestMismatch(algorithm: String, expected: String, actual: String)
    /// The download cannot be checked here: `reason` says which digest OpenSSL cannot compute.
    case cannotVerify(reason: String)
    case diskFull(path: String)
    case permissionDenied(path: String)
    /// A folder on the way to the path is a symbolic link, or the path leaves its root, or the
    /// partial file is not a regular file.
    case unsafePath(path: String)
    /// Another file-system error, such as a folder on the way being a regular file.
    case fileSystem(path: String, reason: String)
    case cancelled

    /// One plain sentence for the user; never contains credentials.
    public var message: String {
        switch self {
        case .httpStatus(let url, let status): return "\(url) answered HTTP \(status)"
        case .unauthorized(let url, let status): return "\(url) refused access (HTTP \(status)): the token is missing, expired or not authorised for this file"
        case .credentials(let reason): return reason
        case .transport(let url, let reason): return "the download of \(url) failed: \(reason)"
        case .sourceError(let url, let reason): return "cannot download \(url): \(reason)"
        case .sizeMismatch(let expected, let actual): return "the download has \(actual) bytes but the lock expects \(expected)"
        case .digestMismatch(let algorithm, let expected, let actual): return "the download's \(algorithm) is \(actual) but the lock expects \(expected)"
        case .cannotVerify(let reason): return "the download cannot be verified: \(reason)"
        case .diskFull(let path): return "no space left on the device while writing \(path)"
        case .permissionDenied(let path): return "permission denied while writing \(path)"
        case .unsafePath(let path): return "refusing to write \(path): a folder on the way is a symbolic link, it is not a regular file, or it leaves the destination"
        case .fileSystem(let path, let reason): return "cannot write \(path): \(reason)"
        case .cancelled: return "the transfer was cancelled; running again continues where it stopped"
        }
    }

    /// Whether running again later may succeed without anything changing: network trouble,
    /// server overload, cancellation. Integrity, access and local file problems need a person.
    public var isRetryable: Bool {
        switch self {
        case .httpStatus(_, let status): return status == 408 || status == 429 || status >= 500
        case .transport, .cancelled: return true
        case .unauthorized, .credentials, .sourceError, .sizeMismatch, .digestMismatch, .cannotVerify, .diskFull, .permissionDenied, .unsafePath, .fileSystem: return false
        }
    }

    /// The failure an errno from writing or creating `path` means.
    package static func fromErrno(_ code: Int32, path: String) -> TransferFailure {
        switch code {
        case ENOSPC, EDQUOT: return .diskFull(path: path)
        case EACCES, EPERM, EROFS: return .permissionDenied(path: path)
        case ELOOP: return .unsafePath(path: path)
        default: return .fileSystem(path: path, reason: String(cString: strerror(code)))
        }
    }
}

/// Progress of a run, delivered on the engine's transfer thread: keep the handler short.
public enum TransferEvent: Sendable, Hashable {
    case started(id: Int)
    /// `bytes` is how much of the file is on disk (resumed bytes included); at most ten a
    /// second per transfer.
    case progress(id: Int, bytes: Int64, total: Int64?)
    /// `attempt` is the try that failed; the next one starts after `delay` seconds.
    case retrying(id: Int, attempt: Int, reason: TransferFailure, delay: TimeInterval)
    case finished(TransferResult)
}

/// The parts of a URL the engine decides on (credential hosts, resumable schemes).
enum URLParts {
    /// The lowercase host of an absolute URL, without userinfo or port.
    static func host(of url: String) -> String? {
        URLComponents(string: url)?.host?.lowercased()
    }

    /// The lowercase scheme of an absolute URL.
    static func scheme(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        return url[..<schemeEnd.lowerBound].lowercased()
    }
}
