import DatapinSpec
import Foundation

/// What a download from one archive carries: headers (an `Authorization` token when the spec
/// names its variable and the environment sets it) and the hosts that may receive them.
/// Built from the spec's variable names and the environment at run time; never written anywhere.
public struct ArchiveCredentials: Sendable, Hashable {
    /// Headers for requests to `hosts`.
    public var headers: [String: String]
    /// The archive's own hosts, lowercased: the only ones that ever see `headers`.
    public var hosts: Set<String>
    /// The variable the spec names for a token when the environment does not set it.
    public var missingVariable: String?

    public init(headers: [String: String] = [:], hosts: Set<String> = [], missingVariable: String? = nil) {
        self.headers = headers
        self.hosts = hosts
        self.missingVariable = missingVariable
    }

    /// True when a token is configured and present.
    public var hasToken: Bool { headers["Authorization"] != nil }

    /// The hosts the kind's definition declares, beside the host of the spec's `url:`.
    static func knownHosts(of kind: ArchiveKind) -> Set<String> {
        ArchiveRegistry.definition(of: kind)?.hosts ?? []
    }

    /// The credentials of `config` from `environment`.
    public static func resolve(_ config: ArchiveConfig, environment: [String: String] = ProcessInfo.processInfo.environment) -> ArchiveCredentials {
        var hosts = knownHosts(of: config.kind)
        for location in [config.url, config.files].compactMap({ $0 }) {
            if let host = URL(string: location)?.host?.lowercased(), !host.isEmpty { hosts.insert(host) }
        }
        guard let variable = config.tokenEnv else { return ArchiveCredentials(hosts: hosts) }
        guard let token = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            return ArchiveCredentials(hosts: hosts, missingVariable: variable)
        }
        return ArchiveCredentials(headers: ["Authorization": authorization(token, for: config.kind)], hosts: hosts)
    }

    /// The `Authorization` value for `token`: `<scheme> <token>`.
    static func authorization(_ token: String, for kind: ArchiveKind) -> String {
        "\(scheme(for: kind)) \(token)"
    }

    /// The `Authorization` scheme an archive kind's definition declares (`Bearer` unless it has its own).
    public static func scheme(for kind: ArchiveKind) -> String {
        ArchiveRegistry.definition(of: kind)?.tokenScheme ?? "Bearer"
    }
}
