import DatapinSpec
import DatapinTransfer
import Foundation

/// Who an archive's credentials log in as, for the manifest's "Logged In User" column; the
/// executable asks without knowing any archive's protocol.
public enum ArchiveIdentity {
    /// The user `credentials` belong to on `config`'s archive; nil when there is no token, the
    /// session is anonymous, the archive's kind cannot say, or anything fails.
    public static func loggedInUser(config: ArchiveConfig, credentials: ArchiveCredentials, client: HTTPClient = HTTPClient()) -> String? {
        ArchiveRegistry.definition(of: config.kind)?.loggedInUser?(config, credentials, client)
    }
}
