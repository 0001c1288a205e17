import DatapinSpec
import DatapinTransfer
import Foundation

extension ArchiveKind {
    /// A SciCat catalogue (a facility's data catalogue).
    public static let scicat = ArchiveKind("scicat")
}

/// The SciCat archive kind: its spec keys, starter (ESS), login grant and adapter.
enum SciCatKind {
    static let definition = ArchiveDefinition(
        grammar: ArchiveGrammar(
            kind: .scicat,
            archiveKeys: [
                SpecKey("url", .url(schemes: ["http", "https"], pathAllowed: false), "Base URL of the SciCat API as users copy it, such as https://scicat.ess.eu/api/v3 (an /api/v4 base works too)."),
                SpecKey("token_env", .variableName, "Variable holding a SciCat token (a JWT, sent as Bearer); without a token or login only published datasets are read."),
                SpecKey("username_env", .variableName, "Variable holding the SciCat user name, for POST /auth/login."),
                SpecKey("password_env", .variableName, "Variable holding the SciCat password, for POST /auth/login."),
                SpecKey("files", .url(schemes: ["https", "http", "sftp", "file"], pathAllowed: false), "The facility's file server (SciCat serves no files): https://host/prefix, sftp://host or file:///mount, followed by each dataset's sourceFolder and file path."),
                SpecKey("ssh_key", .text, "The SSH private key file for sftp:// files (~ expanded; relative to the spec's folder); without it, the SSH agent and ~/.ssh/id_ed25519, id_ecdsa or id_rsa."),
            ],
            datasetKeys: [
                SpecKey("pids", .list(numbersAllowed: false), "SciCat dataset PIDs, prefix included (20.500.12269/…)."),
                SpecKey("where", .conditions, "A filter on dataset fields, such as {proposalId: \"616254\", isPublished: true}; a list value is any of its values; a plain true or false is a boolean, a plain number matches the number or its text, a quoted value is text."),
            ],
            selectorKeys: ["pids", "where"],
            requiredURL: "the archive's base URL",
            starter: """
            archives:
              ess:
                type: scicat
                url: https://scicat.ess.eu/api/v3
                token_env: SCICAT_TOKEN        # or username_env/password_env; none: published data only
                files: sftp://login.esss.dk    # ESS serves files over SFTP; or https://host/prefix, file:///mount

            datasets:
              - archive: ess
                pids: ["20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3"]

            """
        ),
        makeArchive: { config, context throws(ArchiveFactory.Failure) in
            guard let url = config.url else { throw .missingURL(config) }
            return SciCatArchive(name: config.name, baseURL: url, files: config.files, credentials: context.credentials, client: context.client, credentialVariables: config.credentialVariables)
        },
        passwordGrant: { config in
            config.url.map { TokenGrant.sciCatLogin(baseURL: $0) }
        }
    )
}
