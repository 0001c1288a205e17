import DatapinTransfer
import Foundation

extension TokenGrant {
    /// SciCat's login (`username_env`/`password_env`): `POST <v3 base>/auth/login` with the JSON
    /// `{"username", "password"}`, answered `{access_token, id, expires_in, ttl, …}` (a JWT,
    /// 3600 s by default). Auth exists only under v3, so a v4 base logs in at its v3 twin.
    /// `RenewingCredentialSource` renews the token before its JWT `exp`.
    static func sciCatLogin(baseURL: String) -> TokenGrant {
        let loginURL = SciCatConnection.loginURL(base: baseURL)
        return TokenGrant(shownURL: HTTPClient.redactingUserInfo(loginURL), host: URL(string: loginURL)?.host, answer: TokenAnswer(tokenKey: "access_token", expiresInKey: "expires_in")) { username, password in
            let body = (try? JSONSerialization.data(withJSONObject: ["username": username, "password": password], options: [.sortedKeys])) ?? Data()
            return HTTPRequest(url: loginURL, method: "POST", headers: ["Content-Type": "application/json", "Accept": "application/json"], body: body, timeoutSeconds: 60)
        }
    }
}
