import DatapinSupport
import Foundation

/// Renders a `LockDiff` for `datapin plan`: plain text for a terminal, Markdown for a
/// pull-request comment, or JSON for scripts.
public enum PlanReport {
    /// The output formats `datapin plan --format` accepts.
    public enum Format: String, CaseIterable, Sendable {
        case text
        case markdown
        case json
    }

    /// The report, ending with a newline. `specChanged` says the spec's digest differs from the
    /// lock's, which `lock` records even when no file changes. `detailed` (`-v`) adds, under each
    /// changed file of the text and Markdown forms, every changed key's old and new value.
    public static func render(_ diff: LockDiff, format: Format, specChanged: Bool, detailed: Bool = false) -> String {
        switch format {
        case .text: return ([headline(diff, specChanged: specChanged)] + fileLines(diff, detailed: detailed)).joined(separator: "\n") + "\n"
        case .markdown: return markdown(diff, specChanged: specChanged, detailed: detailed)
        case .json: return json(diff, specChanged: specChanged)
        }
    }

    // MARK: - Text

    /// The text form's lines below its headline: per dataset, its counts, then `+ path (size)`,
    /// `- path (size)` and `~ path (fields: …)`, each changed key's values under the last when
    /// `detailed` (also what `datapin lock -v` prints of the change it wrote).
    public static func fileLines(_ diff: LockDiff, detailed: Bool) -> [String] {
        var lines: [String] = []
        for group in groups(diff) {
            lines.append("\(group.summary.dataset): \(counts(group.summary))")
            lines += group.added.map { "  + \($0.path) (\(size($0)))" }
            lines += group.removed.map { "  - \($0.path) (\(size($0)))" }
            for change in group.changed {
                lines.append("  ~ \(change.new.path) (fields: \(change.fields.joined(separator: ", ")))")
                if detailed { lines += change.fieldChanges.map { "      " + shown($0) } }
            }
        }
        return lines
    }

    /// "size: 2934 → 3101 bytes", "sha256: 5e0b2c6a4d1f3e9b… → none".
    private static func shown(_ change: FieldChange) -> String {
        func value(_ text: String?) -> String {
            guard let text else { return "none" }
            switch change.field {
            case "sha256" where text.count > 16: return text.prefix(16) + "…"
            default: return text
            }
        }
        return "\(change.field): \(value(change.old)) → \(value(change.new))" + (change.field == "size" ? " bytes" : "")
    }

    /// "3 files to add (12.4 MB), 1 to remove (2.0 MB), 1 to change", or what holds when nothing does.
    private static func headline(_ diff: LockDiff, specChanged: Bool) -> String {
        guard !diff.isEmpty else {
            return specChanged
                ? "No file changes; the lock's spec digest will be updated."
                : "No changes: the lock matches the spec."
        }
        let totals = diff.totals
        var parts: [String] = []
        func part(_ count: Int, _ verb: String, bytes: Int64?) {
            guard count > 0 else { return }
            let noun = parts.isEmpty ? (count == 1 ? " file" : " files") : ""
            parts.append("\(count)\(noun) to \(verb)" + (bytes.map { " (\(ByteSize.format($0)))" } ?? ""))
        }
        part(totals.addedFiles, "add", bytes: totals.addedBytes)
        part(totals.removedFiles, "remove", bytes: totals.removedBytes)
        part(totals.changedFiles, "change", bytes: nil)
        return parts.joined(separator: ", ")
    }

    private static func counts(_ summary: DatasetChangeSummary) -> String {
        var parts: [String] = []
        if summary.addedFiles > 0 { parts.append("\(summary.addedFiles) to add") }
        if summary.removedFiles > 0 { parts.append("\(summary.removedFiles) to remove") }
        if summary.changedFiles > 0 { parts.append("\(summary.changedFiles) to change") }
        return parts.joined(separator: ", ")
    }

    private static func size(_ entry: LockEntry) -> String {
        entry.size.map(ByteSize.format) ?? "size unknown"
    }

    // MARK: - Markdown

    private static func markdown(_ diff: LockDiff, specChanged: Bool, detailed: Bool) -> String {
        var lines = ["### datapin plan", "", headline(diff, specChanged: specChanged)]
        guard !diff.isEmpty else { return lines.joined(separator: "\n") + "\n" }
        lines += ["", "| Dataset | Added | Removed | Changed | Bytes ± |", "|---|---:|---:|---:|---:|"]
        for summary in diff.datasets {
            lines.append(row(codeSpan(summary.dataset), summary))
        }
        if diff.datasets.count > 1 { lines.append(row("**Total**", diff.totals)) }
        func details(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            lines += ["", "<details><summary>\(title) (\(items.count))</summary>", ""]
            lines += items.map { "- " + $0 }
            lines += ["", "</details>"]
        }
        details("Added", diff.added.map { "\(codeSpan($0.path)) (\(size($0)))" })
        details("Removed", diff.removed.map { "\(codeSpan($0.path)) (\(size($0)))" })
        details("Changed", diff.changed.map { change in
            "\(codeSpan(change.new.path)) (\(change.fields.joined(separator: ", ")))"
                + (detailed ? change.fieldChanges.map { "\n  - " + codeSpan(shown($0)) }.joined() : "")
        })
        return lines.joined(separator: "\n") + "\n"
    }

    private static func row(_ label: String, _ summary: DatasetChangeSummary) -> String {
        let cells = [label, String(summary.addedFiles), String(summary.removedFiles), String(summary.changedFiles), signed(summary.netBytes)]
        return "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
    }

    private static func signed(_ bytes: Int64) -> String {
        bytes > 0 ? "+" + ByteSize.format(bytes) : bytes < 0 ? "-" + ByteSize.format(-bytes) : ByteSize.format(0)
    }

    /// Text in a Markdown code span, with a fence longer than any run of backticks inside it.
    private static func codeSpan(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        var longest = 0, run = 0
        for character in flat {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: longest + 1)
        let pad = flat.hasPrefix("`") || flat.hasSuffix("`") ? " " : ""
        return fence + pad + flat + pad + fence
    }

    // MARK: - JSON

    private static func json(_ diff: LockDiff, specChanged: Bool) -> String {
        jsonValue(diff, specChanged: specChanged).document
    }

    /// The JSON form's members, for a document of the caller's (the CLI's `--json` envelope).
    package static func jsonValue(_ diff: LockDiff, specChanged: Bool) -> OrderedJSON {
        let totals = diff.totals
        return OrderedJSON.object([
            ("changes", .bool(!diff.isEmpty)),
            ("spec_changed", .bool(specChanged)),
            ("added", .array(diff.added.map(fileObject))),
            ("removed", .array(diff.removed.map(fileObject))),
            ("changed", .array(diff.changed.map { change in
                .object([
                    ("path", .string(change.new.path)),
                    ("dataset", .string(change.new.dataset)),
                    ("fields", .array(change.fields.map(OrderedJSON.string))),
                    ("values", .array(change.fieldChanges.map { field in
                        .object([("field", .string(field.field)), ("old", field.old.map(OrderedJSON.string) ?? .null), ("new", field.new.map(OrderedJSON.string) ?? .null)])
                    })),
                ])
            })),
            ("datasets", .array(diff.datasets.map { .object([("dataset", .string($0.dataset))] + countMembers($0)) })),
            ("totals", .object(countMembers(totals))),
        ])
    }

    private static func fileObject(_ entry: LockEntry) -> OrderedJSON {
        .object([
            ("path", .string(entry.path)),
            ("dataset", .string(entry.dataset)),
            ("size", entry.size.map { .integer($0) } ?? .null),
            ("uri", .string(entry.uri)),
        ])
    }

    private static func countMembers(_ summary: DatasetChangeSummary) -> [(String, OrderedJSON)] {
        [
            ("added", .integer(Int64(summary.addedFiles))),
            ("removed", .integer(Int64(summary.removedFiles))),
            ("changed", .integer(Int64(summary.changedFiles))),
            ("added_bytes", .integer(summary.addedBytes)),
            ("removed_bytes", .integer(summary.removedBytes)),
        ]
    }

    // MARK: - Grouping

    private struct Group {
        var summary: DatasetChangeSummary
        var added: [LockEntry]
        var removed: [LockEntry]
        var changed: [LockChange]
    }

    /// The diff's files by dataset, in the order of `diff.datasets`.
    private static func groups(_ diff: LockDiff) -> [Group] {
        diff.datasets.map { summary in
            Group(
                summary: summary,
                added: diff.added.filter { $0.dataset == summary.dataset },
                removed: diff.removed.filter { $0.dataset == summary.dataset },
                changed: diff.changed.filter { $0.new.dataset == summary.dataset }
            )
        }
    }
}
