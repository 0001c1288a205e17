import DatapinTransfer
import Foundation

/// Who a MAST token belongs to, from `GET <base>/whoami`.
enum MASTIdentity {
    /// The user's display name, else their ezid; nil without a token, for an anonymous
    /// session, or when the request or its answer fails (the manifest then says anonymous).
    static func loggedInUser(baseURL: String?, credentials: ArchiveCredentials, client: HTTPClient) -> String? {
        guard credentials.hasToken else { return nil }
        let connection = MASTConnection(archiveName: "mast", baseURL: baseURL, credentials: credentials, client: client, timeoutSeconds: 30)
        guard !connection.authorizationHeaders(for: connection.url("/whoami")).isEmpty,
              let answer = try? connection.getJSONBlocking("/whoami") else { return nil }
        return user(in: answer)
    }

    /// The name in a `whoami` answer: `attrib.display_name`, else `ezid`; nil when `anon` is true.
    static func user(in answer: MASTJSONObject) -> String? {
        if (try? answer.bool("anon")) == true { return nil }
        if let attributes = try? answer.object("attrib"),
           let name = MASTNormalisation.trimmed(try? attributes.string("display_name")) {
            return name
        }
        return MASTNormalisation.trimmed(try? answer.string("ezid"))
    }
}
