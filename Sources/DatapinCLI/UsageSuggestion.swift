import Foundation

/// "Did you mean" for a mistyped option or command. A swap of two neighbouring letters counts as
/// one edit (optimal string alignment), so `--jbos` is nearer `--jobs` than `--json`, which
/// ArgumentParser's own suggestion, counting it as two, gets wrong.
enum UsageSuggestion {
    /// `message` (ArgumentParser's full usage error) with its suggestion replaced by the nearest of
    /// the options its usage line names, those `help` gives for the command the usage line names
    /// (a long usage line is shortened to `<options>`), and `globalOptions`, or of `commands` for
    /// an unknown command; unchanged when nothing is within two edits.
    static func improved(_ message: String, commands: [String], globalOptions: [String], help: (_ command: String) -> String = { _ in "" }) -> String {
        if let typo = quoted(after: "Unknown option '", in: message) {
            let command = commands.first { message.contains("Usage: datapin \($0) ") || message.hasSuffix("Usage: datapin \($0)") }
            let named = (message + "\n" + (command.map(help) ?? "")).split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "-") })
                .map(String.init).filter { $0.hasPrefix("--") && $0.count > 2 && $0 != typo }
            var seen = Set<String>()
            let candidates = (named + globalOptions + ["--help", "--version"]).filter { seen.insert($0).inserted }
            let sentence = "Unknown option '\(typo)'"
            let withoutOld = message.replacingOccurrences(of: #"Unknown option '[^']*'(\. Did you mean '[^']*'\?)?"#, with: sentence, options: .regularExpression)
            guard let nearest = nearest(to: typo, among: candidates) else { return withoutOld }
            return withoutOld.replacingOccurrences(of: sentence, with: sentence + ". Did you mean '\(nearest)'?")
        }
        if message.contains("Usage: datapin <subcommand>"), let typo = quoted(after: "Unexpected argument '", in: message),
           let nearest = nearest(to: typo, among: commands) {
            return message.replacingOccurrences(of: "Unexpected argument '\(typo)'", with: "Unknown command '\(typo)'. Did you mean '\(nearest)'?")
        }
        return message
    }

    /// The candidate fewest edits from `typo`, the first of equals; nil when none is within two.
    static func nearest(to typo: String, among candidates: [String]) -> String? {
        let scored = candidates.map { (candidate: $0, distance: distance(typo, $0)) }.filter { $0.distance <= 2 }
        return scored.min { $0.distance < $1.distance }?.candidate
    }

    /// Edits (insert, delete, substitute, swap two neighbours) between two strings.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var rows = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { rows[i][0] = i }
        for j in 0...b.count { rows[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
                }
            }
        }
        return rows[a.count][b.count]
    }

    private static func quoted(after prefix: String, in message: String) -> String? {
        guard let start = message.range(of: prefix)?.upperBound, let end = message[start...].firstIndex(of: "'") else { return nil }
        return String(message[start..<end])
    }
}
