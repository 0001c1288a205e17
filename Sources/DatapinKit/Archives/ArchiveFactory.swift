import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// Makes the adapter for an archive the spec configures. Adding an archive adds a case here
/// and a folder beside this file.
public enum ArchiveFactory {
    /// The archive kinds this build has an adapter for.
    public static let supportedKinds: [ArchiveKind] = [.mast, .index]

    /// Why an adapter could not be made for a configured archive.
    public enum Failure: Error, Sendable {
        /// The spec names an archive kind whose adapter this version does not have yet.
        case unsupportedKind(ArchiveConfig)
        /// The archive needs `url:` and the spec gives none.
        case missingURL(ArchiveConfig)
        /// The adapter could not start (an index catalog that cannot be read, say).
        case archive(ArchiveError)

        /// One plain sentence for the user.
        public var message: String {
            switch self {
            case .unsupportedKind(let config):
                let supported = ArchiveFactory.supportedKinds.map(\.rawValue).joined(separator: ", ")
                return "archive '\(config.name)' is of type '\(config.kind.rawValue)', which this version of datapin (\(DatapinVersion.current)) cannot query yet; supported types: \(supported)"
            case .missingURL(let config):
                return "archive '\(config.name)' (type \(config.kind.rawValue)) needs a 'url:'"
            case .archive(let error):
                return error.message
            }
        }
    }

    /// The adapter for `config`; relative index paths are resolved against `specDirectory`.
    /// Credentials (MAST's token) are read from `environment`.
    public static func make(_ config: ArchiveConfig, specDirectory: URL, client: HTTPClient = HTTPClient(), environment: [String: String] = ProcessInfo.processInfo.environment) throws(Failure) -> any Archive {
        switch config.kind {
        case .mast:
            return MASTArchive(name: config.name, baseURL: config.url, credentials: ArchiveCredentials.resolve(config, environment: environment), client: client)
        case .index:
            guard let url = config.url else { throw .missingURL(config) }
            do {
                return try IndexArchive(name: config.name, location: url, baseDirectory: specDirectory, client: client)
            } catch {
                throw .archive(error)
            }
        case .eso, .scicat:
            throw .unsupportedKind(config)
        }
    }
}
