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
}
