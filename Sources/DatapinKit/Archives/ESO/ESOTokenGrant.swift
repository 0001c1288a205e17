import DatapinTransfer
import Foundation

extension TokenGrant {
    /// ESO's single sign-on: `GET <tokenURL>?response_type=id_token%20token&grant_type=password&
    /// client_id=clientid&username=…&password=…`, answered `{access_token, id_token, expires_in, …}`;
    /// the `id_token` (a JWT living 8 h, no refresh token) is what ESO's services take as Bearer,
    /// so renewing repeats the grant before its `exp`. Messages show `tokenURL` without its query.
    public static func eso(tokenURL: String) -> TokenGrant {
        TokenGrant(shownURL: HTTPClient.redactingUserInfo(tokenURL), host: URL(string: tokenURL)?.host, answer: TokenAnswer(tokenKey: "id_token")) { username, password in
            let query = [("response_type", "id_token token"), ("grant_type", "password"), ("client_id", "clientid"), ("username", username), ("password", password)]
                .map { "\(VOConnection.formEncoded($0.0))=\(VOConnection.formEncoded($0.1))" }.joined(separator: "&")
            return HTTPRequest(url: "\(tokenURL)?\(query)", method: "GET", headers: ["Accept": "application/json"], timeoutSeconds: 60)
        }
    }
}
