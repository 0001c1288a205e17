import Foundation

/// The README's tables of archive kinds and of the keys each takes, written from the registered
/// definitions (`datapin schema --keys-table`; a test checks the README holds them).
public enum ArchiveKeysTable {
    /// Two Markdown tables: the kinds, then every archive setting and dataset-entry key by kind.
    public static func markdown(_ definitions: [ArchiveDefinition]) -> String {
        var lines = [
            "| Type | Default URL | Built-in archive | Token sent as |",
            "|---|---|---|---|",
        ]
        for definition in definitions {
            let url = definition.defaultURL.map { "`\($0)`" } ?? "— (`url:` needed)"
            let builtIn = definition.grammar.builtIn.map { config in "`\(config.name)`" + (config.tokenEnv.map { " (token from `\($0)`)" } ?? "") } ?? "—"
            lines.append("| `\(definition.kind.rawValue)` | \(url) | \(builtIn) | `Authorization: \(definition.tokenScheme) …` |")
        }
        lines += ["", "| Key | Where | Type | Value |", "|---|---|---|---|"]
        for definition in definitions {
            let kind = definition.kind.rawValue
            for key in definition.grammar.archiveKeys {
                lines.append("| `\(key.name)` | `archives:` entry of type `\(kind)` | \(key.type.summary) | \(key.description) |")
            }
            for key in definition.grammar.datasetKeys {
                let needed = definition.grammar.selectorKeys.contains(key.name) ? " (one of \(definition.grammar.selectorKeys.map { "`\($0)`" }.joined(separator: ", ")) is needed)" : ""
                lines.append("| `\(key.name)` | `datasets:` entry of a `\(kind)` archive | \(key.type.summary) | \(key.description)\(needed) |")
            }
        }
        return lines.joined(separator: "\n")
    }
}
