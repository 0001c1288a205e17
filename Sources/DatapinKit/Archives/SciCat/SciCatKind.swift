import DatapinSpec
import Foundation

extension ArchiveKind {
    /// A SciCat catalogue (a facility's data catalogue).
    public static let scicat = ArchiveKind("scicat")
}

/// The SciCat archive kind, declared for the spec (keys, starter); this version has no
/// adapter for it yet, so `lock` says it cannot query it.
enum SciCatKind {
    static let definition = ArchiveDefinition(
        grammar: ArchiveGrammar(
            kind: .scicat,
            archiveKeys: [
                SpecKey("url", .url(schemes: ["http", "https"], pathAllowed: false), "Base URL of the SciCat API, such as https://scicat.example.org/api/v3."),
                SpecKey("token_env", .variableName, "Variable holding a SciCat token (sent as Bearer)."),
                SpecKey("username_env", .variableName, "Variable holding the SciCat user name."),
                SpecKey("password_env", .variableName, "Variable holding the SciCat password."),
                SpecKey("files", .url(schemes: ["https", "http", "sftp", "file"], pathAllowed: false), "Where the files are served from: https://host/prefix, sftp://host or file:///mount."),
            ],
            datasetKeys: [
                SpecKey("pids", .list(numbersAllowed: false), "SciCat dataset PIDs."),
            ],
            selectorKeys: ["pids"],
            requiredURL: "the archive's base URL",
            starter: """
            archives:
              facility:
                type: scicat
                url: https://scicat.example.org/api/v3
                token_env: SCICAT_TOKEN
                files: https://files.example.org/data   # or sftp://host, or file:///mount

            datasets:
              - archive: facility
                pids: ["20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3"]

            """
        )
    )
}
