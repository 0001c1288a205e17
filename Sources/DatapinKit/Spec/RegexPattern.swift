import Foundation

/// A compiled `include`/`exclude` regular expression. The syntax is ICU's, which matches
/// JavaScript's for everything a filename pattern needs (classes, groups, anchors, `(?i)`).
/// A pattern matches when it is found anywhere in the text, as JavaScript's `test()` does.
public struct CompiledPattern: @unchecked Sendable {
    public let pattern: FilePattern
    private let expression: NSRegularExpression

    /// Compiles `pattern`; the error says in one sentence what is wrong with it.
    public init(_ pattern: FilePattern) throws(PatternError) {
        self.pattern = pattern
        do {
            expression = try NSRegularExpression(pattern: pattern.source)
        } catch {
            throw PatternError(source: pattern.source, reason: Self.reason(for: pattern.source))
        }
    }

    /// True when the expression is found somewhere in `text`.
    public func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private static func reason(for source: String) -> String {
        var depth = 0, inClass = false, escaped = false
        for character in source {
            if escaped { escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "[" where !inClass: inClass = true
            case "]" where inClass: inClass = false
            case "(" where !inClass: depth += 1
            case ")" where !inClass:
                depth -= 1
                if depth < 0 { return "a ')' has no matching '('" }
            default: break
            }
        }
        if escaped { return "it ends with a lone backslash" }
        if inClass { return "a '[' is never closed with ']'" }
        if depth > 0 { return "a '(' is never closed with ')'" }
        if let first = source.first, "*+?{".contains(first) { return "it starts with a quantifier ('\(first)') that has nothing to repeat" }
        return "it is not a valid regular expression"
    }
}

/// Why a regular expression from the spec does not compile.
public struct PatternError: Error, Sendable, Hashable {
    public var source: String
    public var reason: String

    public var message: String { "invalid regular expression '\(source)': \(reason)" }
}
