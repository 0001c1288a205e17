import DatapinSpec
import DatapinTransfer
import Foundation

/// Everything datapin knows of one archive kind, declared by the kind's own folder (such as
/// Archives/MAST/MASTKind.swift): its spec grammar (kind name, keys, `init` starter), the hosts
/// that may receive its credentials, its `Authorization` scheme, how to make its adapter, who
/// its credentials log in as. Its adapter words its own refusals (401/403), naming its own
/// variables. `ArchiveRegistry` lists the definitions; nothing outside a kind's folder names
/// the kind.
public struct ArchiveDefinition: Sendable {
    /// What the spec may write for this kind.
    public var grammar: ArchiveGrammar
    /// The base URL used when the spec gives none; nil when the spec must give `url:`.
    public var defaultURL: String?
    /// The archive's own hosts (lowercased), beside the host of the spec's `url:` and `files:`:
    /// the only ones that ever receive its credentials.
    public var hosts: Set<String>
    /// The `Authorization` scheme a token is sent with (`Bearer` unless the archive has its own).
    public var tokenScheme: String
    /// Makes the adapter for a configured archive.
    public var makeArchive: @Sendable (ArchiveConfig, ArchiveContext) throws(ArchiveFactory.Failure) -> any Archive
    /// The user the credentials log in as, for the manifest; nil when the archive cannot say.
    public var loggedInUser: (@Sendable (ArchiveConfig, ArchiveCredentials, HTTPClient) -> String?)?
    /// How `username_env`/`password_env` log in to this kind (its own grant, taken before a
    /// `token_url`); nil: they need a `token_url`.
    public var passwordGrant: (@Sendable (ArchiveConfig) -> TokenGrant?)?

    public init(grammar: ArchiveGrammar, defaultURL: String? = nil, hosts: Set<String> = [], tokenScheme: String = "Bearer", makeArchive: @escaping @Sendable (ArchiveConfig, ArchiveContext) throws(ArchiveFactory.Failure) -> any Archive, loggedInUser: (@Sendable (ArchiveConfig, ArchiveCredentials, HTTPClient) -> String?)? = nil, passwordGrant: (@Sendable (ArchiveConfig) -> TokenGrant?)? = nil) {
        self.grammar = grammar
        self.defaultURL = defaultURL
        self.hosts = hosts
        self.tokenScheme = tokenScheme
        self.makeArchive = makeArchive
        self.loggedInUser = loggedInUser
        self.passwordGrant = passwordGrant
    }

    /// The kind's name, as `type:` writes it.
    public var kind: ArchiveKind { grammar.kind }
}

/// What an adapter is made with: the spec's folder (relative paths resolve against it), the
/// HTTP client of the run (its host limiter shared by every adapter), the archive's
/// credentials and the environment they were read from.
public struct ArchiveContext: Sendable {
    public var specDirectory: URL
    public var client: HTTPClient
    public var credentials: ArchiveCredentials
    public var environment: [String: String]

    public init(specDirectory: URL, client: HTTPClient, credentials: ArchiveCredentials, environment: [String: String]) {
        self.specDirectory = specDirectory
        self.client = client
        self.credentials = credentials
        self.environment = environment
    }
}

/// The archive kinds this build knows, one registration line each. The first is the one
/// `datapin init` starts from when no `--archive` is given.
public enum ArchiveRegistry {
    public static let definitions: [ArchiveDefinition] = [
        IndexKind.definition,
        MASTKind.definition,
        ESOKind.definition,
        SciCatKind.definition,
        VOKind.definition,
    ]

    /// The spec grammar of every registered kind, for `SpecLoader` and the JSON Schema.
    public static let grammar = SpecGrammar(kinds: definitions.map(\.grammar))

    /// The definition of `kind`.
    public static func definition(of kind: ArchiveKind) -> ArchiveDefinition? {
        definitions.first { $0.kind == kind }
    }

    /// The kinds this version can query (they have an adapter).

    /// The JSON Schema of `datapin.yaml` for the registered kinds.
    public static var schemaJSON: String { SpecSchema.json(for: grammar) }

    /// The archives that work without an `archives:` entry.
    public static var builtInArchives: [ArchiveConfig] { grammar.builtInArchives }
}
