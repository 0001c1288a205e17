import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// Makes the adapter for an archive the spec configures, through the kind's registered definition.
public enum ArchiveFactory {
    /// Why an adapter could not be made for a configured archive.
    public enum Failure: Error, Sendable {
        /// The archive's kind is not registered (a spec loaded with another grammar).
        case unsupportedKind(ArchiveConfig)
        /// The archive needs `url:` and the spec gives none.
        case missingURL(ArchiveConfig)
        /// The adapter could not start (an index catalog that cannot be read, say).
        case archive(ArchiveError)

        /// One plain sentence for the user.
        public var message: String {
            switch self {
            case .unsupportedKind(let config):
                let supported = ArchiveRegistry.definitions.map(\.kind.rawValue).joined(separator: ", ")
                return "archive '\(config.name)' is of type '\(config.kind.rawValue)', which this version of datapin (\(DatapinVersion.current)) does not know; known types: \(supported)"
            case .missingURL(let config):
                return "archive '\(config.name)' (type \(config.kind.rawValue)) needs a 'url:'"
            case .archive(let error):
                return error.message
            }
        }
    }

    /// The adapter for `config`; relative paths are resolved against `specDirectory`.
    /// Credentials are read from `environment`; `client` carries the run's host limiter.
    public static func make(_ config: ArchiveConfig, specDirectory: URL, client: HTTPClient = HTTPClient(), environment: [String: String] = ProcessInfo.processInfo.environment) throws(Failure) -> any Archive {
        guard let definition = ArchiveRegistry.definition(of: config.kind) else {
            throw .unsupportedKind(config)
        }
        let context = ArchiveContext(specDirectory: specDirectory, client: client, credentials: ArchiveCredentials.resolve(config, environment: environment), environment: environment)
        return try definition.makeArchive(config, context)
    }
}
