import Foundation
import Testing
import TestSupport

/// The README's "A first run" works exactly as written, output included: every `$ datapin …`
/// line of its console block is run in a copy of examples/quickstart and its output (stdout and
/// stderr) compared with the lines the README shows under it.
@Suite struct ReadmeFirstRunTests {
    struct Step {
        var arguments: [String]
        var expected: [String]
    }

    /// The console block under "## A first run": its commands and the output shown for each.
    static func steps() throws -> [Step] {
        let readme = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## A first run").dropFirst().first)
        let block = try #require(section.components(separatedBy: "```console\n").dropFirst().first?.components(separatedBy: "```").first)
        var steps: [Step] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) where !line.isEmpty {
            if line.hasPrefix("$ ") {
                let command = line.dropFirst(2).components(separatedBy: "  #").first!.trimmingCharacters(in: .whitespaces)
                let words = command.split(separator: " ").map(String.init)
                if words.first == "cd" { continue }
                #expect(words.first == "datapin", "the first run uses only datapin: \(line)")
                steps.append(Step(arguments: Array(words.dropFirst()), expected: []))
            } else {
                try #require(!steps.isEmpty, "output before any command: \(line)")
                steps[steps.count - 1].expected.append(line)
            }
        }
        return steps
    }

    /// Output lines with what differs from run to run (timings, and the order parallel
    /// downloads finish in) made comparable.
    static func comparable(_ lines: [String]) -> [String] {
        let timing = try! NSRegularExpression(pattern: #"in [0-9.]+ s, [0-9.]+ MB/s"#)
        let normalised = lines.map { line in
            timing.stringByReplacingMatches(in: line, range: NSRange(line.startIndex..., in: line), withTemplate: "in T s, R MB/s")
        }
        return normalised.filter { $0.hasPrefix("fetched ") }.sorted() + normalised.filter { !$0.hasPrefix("fetched ") }
    }

    @Test func theFirstRunPrintsWhatTheReadmeShows() throws {
        let steps = try Self.steps()
        #expect(steps.count >= 8)
        let project = try TestEnvironment.makeScratchDirectory("first-run")
        let source = TestEnvironment.packageRoot.appendingPathComponent("examples/quickstart")
        for item in ["datapin.yaml", "datapin.lock", "archive"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(item), to: project.appendingPathComponent(item))
        }
        for step in steps {
            let result = try Datapin.run(step.arguments, in: project)
            #expect(result.status == 0, "datapin \(step.arguments.joined(separator: " ")): \(result.stderr)")
            let output = (result.stdout + result.stderr).split(separator: "\n").map(String.init)
            #expect(Self.comparable(output) == Self.comparable(step.expected), "datapin \(step.arguments.joined(separator: " "))")
        }
    }
}
