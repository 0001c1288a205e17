import ArgumentParser
import DatapinKit

/// `datapin schema` (hidden): prints the JSON Schema of `datapin.yaml` generated from the
/// archive registry, or the README's table of archive keys; `scripts/generate-schema` writes
/// them into schema/datapin.schema.json and README.md.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of datapin.yaml, generated from the archive registry.",
        shouldDisplay: false
    )

    @Flag(help: "Print the README's Markdown table of archive keys instead.")
    var keysTable = false

    func run() throws {
        print(keysTable ? ArchiveKeysTable.markdown(ArchiveRegistry.definitions) : ArchiveRegistry.schemaJSON)
    }
}
