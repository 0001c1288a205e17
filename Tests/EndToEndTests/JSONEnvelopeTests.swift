import Foundation
import Testing
import TestSupport

/// Every command's `--json` document has one shape (`ok`, `exit_code`, `diagnostics` first, then
/// the command's own members) and one style (`"key": value`, `[]` for an empty array).
@Suite struct JSONEnvelopeTests {
    /// The document's members in order, after checking its style.
    static func envelope(of result: CommandResult, _ command: [String]) throws -> (keys: [String], object: [String: Any]) {
        let text = result.stdout
        #expect(!text.contains("\" : "), "\(command): JSONEncoder's style: \(text)")
        #expect(!text.contains("[\n\n"), "\(command): an empty array over two lines: \(text)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(command): \(text)")
        let keys = text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  \""), let end = line.dropFirst(3).firstIndex(of: "\"") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 3)..<end])
        }
        #expect(Array(keys.prefix(3)) == ["ok", "exit_code", "diagnostics"], "\(command): \(keys)")
        #expect(object["ok"] as? Bool == (result.status == 0), "\(command)")
        #expect((object["exit_code"] as? NSNumber)?.int32Value == result.status, "\(command)")
        #expect(object["diagnostics"] is [Any], "\(command)")
        return (keys, object)
    }

    @Test func everyCommandsDocumentHasTheEnvelopeAndOneStyle() throws {
        let (project, _, server) = try OutdatedCommandTests.servedQuickstart()
        defer { server.shutdown() }
        #expect(try Datapin.run(["lock"], in: project).status == 0)
        let commands: [[String]] = [
            ["lock"], ["lock", "--check"], ["plan"], ["plan", "--format", "json"], ["ls"], ["ls", "--format", "json"], ["products"],
            ["status"], ["sync", "--dry-run"], ["verify"], ["outdated"],
        ]
        for command in commands {
            let result = try Datapin.run(["--json"] + command, in: project)
            let (keys, _) = try Self.envelope(of: result, command)
            #expect(keys.count > 3, "\(command) has members of its own: \(keys)")
        }
        let verify = try Datapin.run(["--json", "verify"], in: project)
        #expect(verify.status == 1, "nothing is synced yet: \(verify.stdout)")
        #expect((try Self.envelope(of: verify, ["verify"]).object["ok"] as? Bool) == false)
    }

    @Test func aFailureHasTheSameEnvelopeWithItsDiagnostics() throws {
        let project = try LockCommandTests.quickstartCopy()
        let specURL = project.appendingPathComponent("datapin.yaml")
        try LockCommandTests.read(specURL).replacingOccurrences(of: "suffixes:", with: "suffix:").write(to: specURL, atomically: true, encoding: .utf8)
        let result = try Datapin.run(["--json", "lock"], in: project)
        #expect(result.status == 2)
        let (keys, object) = try Self.envelope(of: result, ["lock"])
        #expect(keys == ["ok", "exit_code", "diagnostics"])
        let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
        let first = try #require(diagnostics.first)
        #expect(first["severity"] as? String == "error")
        #expect(first["file"] as? String == "datapin.yaml" && first["line"] != nil && first["column"] != nil, "\(first)")
        #expect((first["message"] as? String)?.contains("suffixes") == true, "\(first)")
    }

    @Test func warningsOfASuccessfulCommandAreInItsDiagnostics() throws {
        let project = try LockCommandTests.quickstartCopy()
        let specURL = project.appendingPathComponent("datapin.yaml")
        try LockCommandTests.read(specURL).replacingOccurrences(of: "select:\n", with: "select:\n  levels: []\n").write(to: specURL, atomically: true, encoding: .utf8)
        let result = try Datapin.run(["--json", "lock"], in: project)
        #expect(result.status == 0, "\(result.stdout)")
        let (_, object) = try Self.envelope(of: result, ["lock"])
        let warnings = (object["diagnostics"] as? [[String: Any]] ?? []).filter { $0["severity"] as? String == "warning" }
        #expect(warnings.count == 1 && warnings.first?["line"] != nil, "\(result.stdout)")
    }
}
