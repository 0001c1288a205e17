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
        for kind in ArchiveRegistry.grammar.kinds {
            let url = folder.appendingPathComponent("\(kind.kind.rawValue).yaml")
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

    /// The committed schema is what the registry generates, and what `datapin schema` prints
    /// and `init` writes; regenerate it with scripts/generate-schema.
    @Test func committedSchemaIsWhatTheRegistryGenerates() throws {
        let file = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("schema/datapin.schema.json"), encoding: .utf8)
        #expect(ArchiveRegistry.schemaJSON + "\n" == file, "schema/datapin.schema.json is stale: run scripts/generate-schema")
        let folder = try TestEnvironment.makeScratchDirectory("schema-command")
        let printed = try Datapin.run(["schema"], in: folder)
        #expect(printed.status == 0)
        #expect(printed.stdout == file)
    }

    /// The README's tables of archive kinds and keys are the ones the registry writes.
    @Test func readmeKeysTableIsWhatTheRegistryGenerates() throws {
        let readme = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("<!-- archive-keys:begin -->\n" + ArchiveKeysTable.markdown(ArchiveRegistry.definitions) + "\n<!-- archive-keys:end -->"), "README.md's archive keys table is stale: run scripts/generate-schema")
    }

    /// Every key of the schema's archive settings and dataset entries comes from a registered
    /// kind, and the schema refuses a setting the archive's type does not take.
    @Test func schemaRefusesAKeyTheArchiveTypeDoesNotTake() throws {
        let folder = try TestEnvironment.makeScratchDirectory("kind-keys")
        let url = folder.appendingPathComponent("datapin.yaml")
        try "version: 1\narchives:\n  lab: {type: index, url: ./c.json, files: sftp://host}\ndatasets: [{archive: lab}]\n".write(to: url, atomically: true, encoding: .utf8)
        let result = try Self.validate([url.path])
        #expect(result.status == 1, "\(result.stdout)")
        #expect(result.stdout.contains("files"))
    }
}
