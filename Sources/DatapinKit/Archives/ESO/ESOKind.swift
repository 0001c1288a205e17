import DatapinSpec
import Foundation

extension ArchiveKind {
    /// The ESO Science Archive.
    public static let eso = ArchiveKind("eso")
}

/// The ESO archive kind, declared for the spec (keys, built-in `eso`, starter, hosts); this
/// version has no adapter for it yet, so `lock` says it cannot query it.
enum ESOKind {
    static let definition = ArchiveDefinition(
        grammar: ArchiveGrammar(
            kind: .eso,
            archiveKeys: [
                SpecKey("url", .url(schemes: ["http", "https"], pathAllowed: false), "Base URL of the ESO archive's services."),
                SpecKey("token_env", .variableName, "Variable holding an ESO token (sent as Bearer)."),
                SpecKey("username_env", .variableName, "Variable holding the ESO user name, for proprietary data."),
                SpecKey("password_env", .variableName, "Variable holding the ESO password."),
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
        hosts: ["archive.eso.org", "dataportal.eso.org", "www.eso.org"]
    )
}
