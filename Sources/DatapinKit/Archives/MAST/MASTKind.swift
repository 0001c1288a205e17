import DatapinSpec
import DatapinSupport
import Foundation

extension ArchiveKind {
    /// MAST, the Mikulski Archive for Space Telescopes.
    public static let mast = ArchiveKind("mast")
}

/// The MAST archive kind: its spec keys, hosts, token scheme, starter, adapter and `whoami`.
enum MASTKind {
    /// MAST's public address, used when the spec gives no `url:`.
    static let defaultURL = "https://mast.stsci.edu"
    /// The variable the built-in `mast` archive reads its token from.
    static let tokenVariable = "MAST_API_TOKEN"

    static let definition = ArchiveDefinition(
        grammar: ArchiveGrammar(
            kind: .mast,
            archiveKeys: [
                SpecKey("url", .url(schemes: ["http", "https"], pathAllowed: false), "Base URL of the MAST API (default \(defaultURL))."),
                SpecKey("token_env", .variableName, "Variable holding a MAST token (https://auth.mast.stsci.edu/token), for exclusive-access files; the built-in mast archive reads \(tokenVariable)."),
            ],
            datasetKeys: [
                SpecKey("mission", .word, "The Mission Search to ask for ids and where: jwst, hst or roman."),
                SpecKey("ids", .list(numbersAllowed: true), "Mission Search dataset ids (fileSetName, sci_data_set_name)."),
                SpecKey("where", .conditions, "Mission Search conditions, such as {program: \"02734\"}; a list value is any of its values."),
                SpecKey("obsids", .list(numbersAllowed: true), "CAOM observation ids, listed by the Portal across all missions."),
            ],
            selectorKeys: ["ids", "where", "obsids"],
            builtIn: ArchiveConfig(name: "mast", kind: .mast, tokenEnv: tokenVariable),
            starter: """
            archives:
              mast:
                token_env: MAST_API_TOKEN      # only needed for exclusive-access files

            datasets:
              - archive: mast
                mission: jwst                  # MAST Mission Search: jwst hst roman
                ids: [jw02734001001_02101_00001, jw02734-o002_t002_niriss]
                select: {levels: [2b, 3], suffixes: [_cal, _x1dints]}

            """,
            entryRules: [missionRules]
        ),
        defaultURL: defaultURL,
        hosts: ["mast.stsci.edu"],
        tokenScheme: "token",
        makeArchive: { config, context throws(ArchiveFactory.Failure) in
            MASTArchive(name: config.name, baseURL: config.url, credentials: context.credentials, client: context.client, credentialVariables: config.credentialVariables)
        },
        loggedInUser: { config, credentials, client in
            MASTIdentity.loggedInUser(baseURL: config.url, credentials: credentials, client: client)
        }
    )

    /// What a MAST 401/403 tells the user, naming the archive's token variable.
    static func refusalAdvice(_ variables: [String]) -> String {
        guard let variable = variables.first else {
            return "the token is missing; name the variable holding a MAST token with 'token_env:' (such as \(tokenVariable)), from https://auth.mast.stsci.edu/token"
        }
        return "the token is missing, expired or not authorised for this data (set \(variable) to a token from https://auth.mast.stsci.edu/token)"
    }

    /// `ids:` and `where:` search one mission, so they need `mission:`; `mission:` beside
    /// `obsids:` alone does nothing (a warning).
    @Sendable static func missionRules(_ keys: [String: SourceLocation]) -> [(message: String, severity: Diagnostic.Severity, location: SourceLocation)] {
        let searching = ["ids", "where"].filter { keys[$0] != nil }
        if keys["mission"] == nil, let key = searching.first, let location = keys[key] {
            return [("'\(key)' on a mast archive needs 'mission:' (jwst, hst, roman, …) to know which Mission Search to ask", .error, location)]
        }
        if let mission = keys["mission"], searching.isEmpty, keys["obsids"] != nil {
            return [("'mission' has no effect on 'obsids', which ask the MAST Portal across all missions", .warning, mission)]
        }
        return []
    }
}
