import DatapinKit
import Foundation
import Testing
import TestSupport

/// The JSON Schemas in schema/ accept every example spec, the quickstart's lock and every
/// starter spec, checked by the reference jsonschema implementation (schema/validate.py).
@Suite struct SchemaTests {
    static func validate(_ files: [String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestEnvironment.packageRoot.appendingPathComponent("schema/validate.py").path] + files
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: output, stderr: "")
    }

    static func exampleFiles() throws -> [String] {
        let examples = TestEnvironment.packageRoot.appendingPathComponent("examples")
        let folders = try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted()
        return folders.flatMap { folder in
            ["datapin.yaml", "datapin.lock"].map { examples.appendingPathComponent(folder).appendingPathComponent($0).path }
        }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    @Test func everyExampleSpecAndLockValidates() throws {
        let files = try Self.exampleFiles()
        #expect(files.contains { $0.hasSuffix("quickstart/datapin.lock") }, "the quickstart's lock is committed")
        #expect(files.filter { $0.hasSuffix("datapin.yaml") }.count >= 1)
        let result = try Self.validate(files)
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.components(separatedBy: ": valid ").count - 1 == files.count)
    }

    @Test func everyStarterSpecValidates() throws {
        let folder = try TestEnvironment.makeScratchDirectory("starters")
        var files: [String] = []
        for kind in ArchiveKind.allCases {
            let url = folder.appendingPathComponent("\(kind.rawValue).yaml")
            try StarterSpec.text(for: kind).write(to: url, atomically: true, encoding: .utf8)
            files.append(url.path)
        }
        let result = try Self.validate(files)
        #expect(result.status == 0, "\(result.stdout)")
    }

    @Test func schemaCatchesWhatTheLoaderRejects() throws {
        let folder = try TestEnvironment.makeScratchDirectory("bad-spec")
        let url = folder.appendingPathComponent("datapin.yaml")
        try "version: 1\nselect: {suffix: [cal]}\ndatasets: []\n".write(to: url, atomically: true, encoding: .utf8)
        let result = try Self.validate([url.path])
        #expect(result.status == 1)
        #expect(result.stdout.contains("suffix"))
    }

    @Test func embeddedSchemaIsTheOneInTheRepository() throws {
        let file = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("schema/datapin.schema.json"), encoding: .utf8)
        #expect(SpecSchema.json + "\n" == file)
    }
}
