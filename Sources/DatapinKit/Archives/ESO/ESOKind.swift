import DatapinSpec
import Foundation

extension ArchiveKind {
    /// The ESO Science Archive.
    public static let eso = ArchiveKind("eso")
}

/// The ESO archive kind: its spec keys, built-in `eso`, starter, hosts, password grant and adapter.
enum ESOKind {
    /// ESO's TAP, DataLink and calSelector, used when the spec gives no `url:`.
    static let defaultURL = "https://archive.eso.org"
    /// ESO's single sign-on token service.
    static let defaultTokenURL = "https://www.eso.org/sso/oidc/token"

    /// The token service of `config`: its `auth_url:` when the spec names one, else
    /// `<url>/sso/oidc/token` under the spec's `url:`, else ESO's.
    static func tokenURL(of config: ArchiveConfig) -> String {
        if let explicit = config.tokenURL { return explicit }
        guard var base = config.url else { return defaultTokenURL }
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/sso/oidc/token"
    }

    /// What an ESO 401/403 tells the user, naming the archive's variables.
    static func refusalAdvice(_ variables: [String]) -> String {
        guard !variables.isEmpty else {
            return "the data is proprietary; name the variables holding your ESO user name and password with 'username_env:' and 'password_env:'"
        }
        return "the data is proprietary and the credentials in \(variables.joined(separator: ", ")) are missing or not authorised for it"
    }

    static let definition = ArchiveDefinition(
        grammar: ArchiveGrammar(
            kind: .eso,
            archiveKeys: [
                SpecKey("url", .url(schemes: ["http", "https"], pathAllowed: false), "Base URL of the ESO archive's services."),
                SpecKey("token_env", .variableName, "Variable holding an ESO token (sent as Bearer)."),
                SpecKey("username_env", .variableName, "Variable holding the ESO user name, for proprietary data."),
                SpecKey("password_env", .variableName, "Variable holding the ESO password."),
                SpecKey("auth_url", .url(schemes: ["http", "https"], pathAllowed: false), "ESO's token service, the only place the user name and password go (default https://www.eso.org/sso/oidc/token)."),
            ],
            datasetKeys: [
                SpecKey("ids", .list(numbersAllowed: true), "ESO dataset ids (DP.ID)."),
                SpecKey("adql", .text, "An ADQL query on the archive's TAP service whose rows name datasets."),
                SpecKey("calibrations", .choice(CalibrationMode.allCases.map(\.rawValue)), "calSelector's association of calibrations: none, raw2raw or raw2master."),
            ],
            selectorKeys: ["ids", "adql"],
            builtIn: ArchiveConfig(name: "eso", kind: .eso),
            starter: """
            archives:
              eso:
                username_env: ESO_USER         # only needed for proprietary data
                password_env: ESO_PASSWORD

            datasets:
              - archive: eso
                ids: [SPHER.2016-09-26T03:04:09.308]
                calibrations: raw2master       # none | raw2raw | raw2master (calSelector)

            """
        ),
        defaultURL: defaultURL,
        hosts: ["archive.eso.org", "dataportal.eso.org", "www.eso.org"],
        makeArchive: { config, context throws(ArchiveFactory.Failure) in
            ESOArchive(name: config.name, baseURL: config.url, credentials: context.credentials, client: context.client, credentialVariables: config.credentialVariables)
        },
        passwordGrant: { config in .eso(tokenURL: tokenURL(of: config)) }
    )
}
