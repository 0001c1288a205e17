import DatapinSpec
import DatapinTransfer
import Foundation

/// What a request to one archive carries: a credential source (a static token from
/// `token_env`, or a password grant from `username_env`/`password_env` at `token_url`) asked
/// for headers at every attempt, the SSH key file of its `sftp://` files (`ssh_key:`), and the
/// hosts that may receive them. `.netrc` basic auth is libcurl's, beside this. Built from the spec's variable names and the environment at run
/// time; never written anywhere.
public struct ArchiveCredentials: Sendable {
    /// Where the `Authorization` header comes from; nil when the spec configures no credentials
    /// or the environment does not set their variables.
    public var source: (any CredentialSource)?
    /// The archive's own hosts, lowercased: the only ones that ever see the source's headers.
    public var hosts: Set<String>
    /// The variables the spec names for credentials that the environment does not set
    /// (`LAB_USER and LAB_PASSWORD`, `MAST_API_TOKEN`); nil when nothing is missing.
    public var missingVariable: String?
    /// Where the token comes from, for messages (`the token in MAST_API_TOKEN`).
    public var origin: String?
    /// The private key file the spec's `ssh_key:` names, `~` expanded (a relative path is the
    /// caller's to resolve); offered only to `hosts`. nil: the SSH agent and `~/.ssh/id_*`.
    public var sshKey: String?

    public init(source: (any CredentialSource)? = nil, hosts: Set<String> = [], missingVariable: String? = nil, origin: String? = nil, sshKey: String? = nil) {
        self.source = source
        self.hosts = hosts
        self.missingVariable = missingVariable
        self.origin = origin
        self.sshKey = sshKey
    }

    /// True when a token is configured and its variables are set.
    public var hasToken: Bool { source != nil }

    /// The headers to send now, waiting while a token is fetched; empty without a source or
    /// when no token can be had (the request then goes without, and its refusal says so). For
    /// listings and other callers outside the transfer engine; never on the transfer thread.
    public var headers: [String: String] {
        (try? source?.waitForHeaders()) ?? [:]
    }

    /// The hosts the kind's definition declares, beside the host of the spec's `url:`.
    static func knownHosts(of kind: ArchiveKind) -> Set<String> {
        ArchiveRegistry.definition(of: kind)?.hosts ?? []
    }

    /// The `Authorization` scheme an archive kind's definition declares (`Bearer` unless it has its own).
    public static func scheme(for kind: ArchiveKind) -> String {
        ArchiveRegistry.definition(of: kind)?.tokenScheme ?? "Bearer"
    }

    /// The hosts that may receive `config`'s credentials: the kind's own and those of its
    /// `url:` and `files:`. Needs no environment (an exported script reads it).
    public static func hosts(of config: ArchiveConfig) -> Set<String> {
        var hosts = knownHosts(of: config.kind)
        for location in [config.url, config.files].compactMap({ $0 }) {
            if let host = URL(string: location)?.host?.lowercased(), !host.isEmpty { hosts.insert(host) }
        }
        return hosts
    }

    /// The credentials of `config` from `environment`: its `token_env` token when set, else a
    /// password grant when `username_env` and `password_env` are set: the kind's own grant
    /// (ESO's at `auth_url`, SciCat's login), else RFC 6749's at `token_url`; and its `ssh_key:`.
    public static func resolve(_ config: ArchiveConfig, environment: [String: String] = ProcessInfo.processInfo.environment, client: HTTPClient = HTTPClient()) -> ArchiveCredentials {
        var credentials = tokens(of: config, environment: environment, client: client)
        credentials.sshKey = config.sshKey.flatMap { $0.isEmpty ? nil : SSHEnvironment.expandingTilde($0, home: environment["HOME"]) }
        return credentials
    }

    /// The token part of `resolve`.
    private static func tokens(of config: ArchiveConfig, environment: [String: String], client: HTTPClient) -> ArchiveCredentials {
        let hosts = hosts(of: config)
        func value(_ variable: String) -> String? {
            guard let text = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text
        }
        if let variable = config.tokenEnv, let token = value(variable) {
            return ArchiveCredentials(source: StaticTokenSource(token: token, scheme: scheme(for: config.kind), variable: variable), hosts: hosts, origin: "the token in \(variable)")
        }
        if let usernameVariable = config.usernameEnv, let passwordVariable = config.passwordEnv,
           let grant = ArchiveRegistry.definition(of: config.kind)?.passwordGrant?(config) ?? config.tokenURL.map({ TokenGrant.oauth2Password(tokenURL: $0) }) {
            if let username = value(usernameVariable), let password = value(passwordVariable) {
                let source = RenewingCredentialSource(grant: grant, username: username, password: password,
                                                      usernameVariable: usernameVariable, passwordVariable: passwordVariable, scheme: scheme(for: config.kind), client: client)
                return ArchiveCredentials(source: source, hosts: hosts, origin: "the token granted for \(usernameVariable)")
            }
            let missing = [usernameVariable, passwordVariable].filter { value($0) == nil }
            return ArchiveCredentials(hosts: hosts, missingVariable: missing.joined(separator: " and "))
        }
        return ArchiveCredentials(hosts: hosts, missingVariable: config.tokenEnv)
    }

    /// Checks, before any transfer, the credentials of the archives named: an expired JWT, a
    /// refused password. Fetches a password grant's first token (waiting on the calling thread).
    /// Returns one failure per archive that cannot be used, by archive name.
    public static func problems(in credentials: [String: ArchiveCredentials], archives: Set<String>) -> [(archive: String, failure: CredentialFailure)] {
        var problems: [(archive: String, failure: CredentialFailure)] = []
        for name in archives.sorted() {
            guard let source = credentials[name]?.source else { continue }
            do {
                try source.check()
            } catch {
                problems.append((name, error))
            }
        }
        return problems
    }
}
