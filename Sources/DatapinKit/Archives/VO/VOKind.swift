import DatapinSpec
import Foundation

extension ArchiveKind {
    /// Any IVOA archive: a TAP service whose ObsCore rows name the files.
    public static let vo = ArchiveKind("vo")
}

/// The generic IVOA archive kind: its spec keys, starter (GAVO's data centre) and adapter.
enum VOKind {
    static let definition = ArchiveDefinition(
        grammar: ArchiveGrammar(
            kind: .vo,
            archiveKeys: [
                SpecKey("url", .url(schemes: ["http", "https"], pathAllowed: false), "The TAP service, such as http://dc.zah.uni-heidelberg.de/tap (its /sync answers the queries)."),
                SpecKey("token_env", .variableName, "Variable holding a token for the service (sent as Bearer to its host only)."),
            ],
            datasetKeys: [
                SpecKey("adql", .text, "An ADQL query whose rows are ObsCore: obs_publisher_did, obs_id, access_url, access_format, access_estsize, calib_level, dataproduct_type, obs_collection."),
            ],
            selectorKeys: ["adql"],
            requiredURL: "the TAP service's URL",
            starter: """
            archives:
              gavo:
                type: vo
                url: http://dc.zah.uni-heidelberg.de/tap   # any TAP service with an ivoa.obscore table

            datasets:
              - archive: gavo
                adql: >-
                  SELECT obs_publisher_did, obs_id, access_url, access_format, access_estsize,
                  calib_level, dataproduct_type, obs_collection
                  FROM ivoa.obscore WHERE obs_collection = 'Carte du Ciel' AND dataproduct_type = 'image'
                  AND obs_id LIKE 'potsdam/data/fits/POT032_00000%'

            """
        ),
        makeArchive: { config, context throws(ArchiveFactory.Failure) in
            guard let url = config.url else { throw .missingURL(config) }
            return ObsCoreArchive(name: config.name, tapURL: url, credentials: context.credentials, client: context.client, tokenVariable: config.tokenEnv)
        }
    )
}
