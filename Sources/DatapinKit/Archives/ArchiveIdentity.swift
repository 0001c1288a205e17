import DatapinSpec
import DatapinTransfer
import Foundation

/// Who an archive's credentials log in as, for the manifest's "Logged In User" column; the
/// executable asks without knowing any archive's protocol.
public enum ArchiveIdentity {
    /// The user `credentials` belong to on `config`'s archive; nil when there is no token, the
    /// session is anonymous, the archive cannot say (only MAST can, through `whoami`), or
    /// anything fails.
    public static func loggedInUser(config: ArchiveConfig, credentials: ArchiveCredentials, client: HTTPClient = HTTPClient()) -> String? {
        switch config.kind {
        case .mast: return MASTIdentity.loggedInUser(baseURL: config.url, credentials: credentials, client: client)
        case .eso, .scicat, .index: return nil
        }
    }
}
