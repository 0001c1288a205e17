import DatapinSpec
import Foundation

extension ArchiveKind {
    /// A static index: a catalog file (JSON catalog, SHA256SUMS or pooch registry).
    public static let index = ArchiveKind("index")
}

/// The static-index archive kind: its spec keys, starter and adapter.
enum IndexKind {
    static let definition = ArchiveDefinition(
        grammar: ArchiveGrammar(
            kind: .index,
            archiveKeys: [
                SpecKey("url", .url(schemes: ["file", "http", "https"], pathAllowed: true), "The catalog: a path (relative to the spec), file:// or http(s):// URL of a JSON catalog, SHA256SUMS or pooch registry."),
                SpecKey("token_env", .variableName, "Variable holding a token for the index's host (sent as Bearer)."),
                SpecKey("username_env", .variableName, "Variable holding the user name for the password grant at token_url."),
                SpecKey("password_env", .variableName, "Variable holding the password for the password grant at token_url."),
                SpecKey("token_url", .url(schemes: ["http", "https"], pathAllowed: false), "OAuth2 token endpoint (RFC 6749 §4.3 password grant) that username_env and password_env log in at."),
            ],
            datasetKeys: [
                SpecKey("ids", .list(numbersAllowed: true), "Dataset ids of the catalog; without ids, every dataset."),
            ],
            selectorKeys: [],
            requiredURL: "the catalog's path or URL",
            starter: """
            archives:
              lab:
                type: index
                url: ./archive/catalog.json   # a path, file:// or http(s):// URL; JSON catalog, SHA256SUMS or pooch registry

            datasets:
              - archive: lab
                ids: [ds001]                  # omit ids to take every dataset of the index
                select: {levels: ["3"]}

            """
        ),
        makeArchive: { config, context throws(ArchiveFactory.Failure) in
            guard let url = config.url else { throw .missingURL(config) }
            do throws(ArchiveError) {
                return try IndexArchive(name: config.name, location: url, baseDirectory: context.specDirectory, client: context.client)
            } catch {
                throw .archive(error)
            }
        }
    )
}
