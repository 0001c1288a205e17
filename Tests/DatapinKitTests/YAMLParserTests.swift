import DatapinKit
import Testing

@Suite struct YAMLParserTests {
    @Test func keepsLinesAndColumnsOfKeysAndValues() throws {
        let text = """
        version: 1
        select:
          suffixes: [_cal, "_x1dints"]
        """
        let root = try #require(try YAMLParser.parse(text, file: "datapin.yaml"))
        let select = try #require(root["select"])
        let pair = try #require(select.pairs?.first)
        #expect(pair.key.location == SourceLocation(file: "datapin.yaml", line: 3, column: 3))
        let items = try #require(pair.value.items)
        #expect(items.map(\.scalar) == ["_cal", "_x1dints"])
        #expect(items[1].location.column == 20)
        if case .scalar(_, let plain) = items[1].value { #expect(!plain) } else { Issue.record("not a scalar") }
    }

    @Test func reportsSyntaxErrorsWithPosition() {
        #expect {
            _ = try YAMLParser.parse("a: [1, 2\nb: 3\n", file: "x.yaml")
        } throws: { error in
            guard let error = error as? YAMLSyntaxError else { return false }
            return error.location.file == "x.yaml" && error.location.line >= 1 && !error.message.isEmpty
        }
    }

    @Test func expandsAliases() throws {
        let root = try #require(try YAMLParser.parse("a: &x [one, two]\nb: *x\n", file: "f"))
        #expect(root["b"]?.items?.compactMap(\.scalar) == ["one", "two"])
    }

    @Test func emptyStreamIsNil() throws {
        #expect(try YAMLParser.parse("# only a comment\n", file: "f") == nil)
    }

    @Test func nullDetectionOnlyForPlainScalars() throws {
        let root = try #require(try YAMLParser.parse("a: ~\nb: 'null'\nc:\n", file: "f"))
        #expect(root["a"]?.isNull == true)
        #expect(root["b"]?.isNull == false)
        #expect(root["c"]?.isNull == true)
    }

    // MARK: Bounds

    static func syntaxError(_ text: String, limits: YAMLLimits = .standard) -> YAMLSyntaxError? {
        do {
            _ = try YAMLParser.parse(text, file: "f.yaml", limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func billionLaughsStopsAtTheAliasThatCrossesTheBound() throws {
        var text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for (previous, name) in zip("abcdefgh", "bcdefghi") {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        let error = try #require(Self.syntaxError(text))
        #expect(error.message.hasPrefix("aliases expand to more than 100000 nodes"))
        // The aliases of lines 2 to 5 add 74,718 nodes, the first one of line 6 another 66,430.
        #expect(error.location.line == 6)
        #expect(error.location.column > 1)
    }

    @Test func aTwentyFourLevelAliasTreeStopsAtTheBound() throws {
        var text = "l0: &l0 [x, x]\n"
        for level in 1..<24 { text += "l\(level): &l\(level) [*l\(level - 1), *l\(level - 1)]\n" }
        #expect(text.utf8.count < 1024)
        let error = try #require(Self.syntaxError(text))
        #expect(error.message.contains("aliases expand to more than 100000 nodes"))
        #expect((10...20).contains(error.location.line))
    }

    @Test func deepNestingStopsAtLevel65() throws {
        let mappings = String(repeating: "{a: ", count: 100_000) + "x" + String(repeating: "}", count: 100_000)
        let error = try #require(Self.syntaxError(mappings))
        #expect(error.message == "collections are nested deeper than 64 levels here")
        #expect(error.location == SourceLocation(file: "f.yaml", line: 1, column: 64 * 4 + 1))

        let lists = try #require(Self.syntaxError(String(repeating: "[", count: 100_000)))
        #expect(lists.message == "collections are nested deeper than 64 levels here")
        #expect(lists.location == SourceLocation(file: "f.yaml", line: 1, column: 65))

        let blocks = (0..<100).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " x\n"
        let block = try #require(Self.syntaxError(blocks))
        #expect(block.message == "collections are nested deeper than 64 levels here")
        #expect(block.location.line == 65)
    }

    @Test func sixtyFourLevelsAreFine() throws {
        let text = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(Self.syntaxError(text)?.message == nil)
    }

    @Test func theNodeBudgetGrowsWithTheText() throws {
        let limits = YAMLLimits(minimumNodeBudget: 100)
        // 301 nodes in 1,200 bytes: within a budget of one node per byte.
        let list = "[" + Array(repeating: "ab", count: 300).joined(separator: ", ") + "]"
        #expect(Self.syntaxError(list, limits: limits)?.message == nil)
        // Aliases within their own bound may still not take the document past its budget.
        let aliased = "a: &a [" + Array(repeating: "x", count: 50).joined(separator: ", ") + "]\nb: [" + Array(repeating: "*a", count: 40).joined(separator: ", ") + "]\n"
        let error = try #require(Self.syntaxError(aliased, limits: limits))
        #expect(error.message.hasPrefix("the document has more than"))
        #expect(error.location.line == 2)
    }

    @Test func anchorsAndAliasesCanBeRefused() throws {
        let limits = YAMLLimits(allowsAliases: false)
        let anchor = try #require(Self.syntaxError("a: &x [one]\n", limits: limits))
        #expect(anchor.message == "anchors (&name) and aliases (*name) are not allowed in this file")
        #expect(anchor.location == SourceLocation(file: "f.yaml", line: 1, column: 4))
        let alias = try #require(Self.syntaxError("a: *x\n", limits: limits))
        #expect(alias.location == SourceLocation(file: "f.yaml", line: 1, column: 4))
    }
}
