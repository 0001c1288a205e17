import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin lock / sync` against the loopback ESO: dp_ids through DataLink, exact names and
/// sizes, credentials (the password grant, a ready token, none) and calSelector's calibrations.
@Suite struct ESOCommandTests {
    static let frame = FakeESO.fors2Frame, twin = FakeESO.fors2Twin
    static let proprietary = "FORS2.2026-11-30T01:02:03.456"

    static func archive(_ change: (inout FakeESO.Configuration) -> Void = { _ in }) throws -> FakeESO {
        var configuration = try FakeESO.Configuration.fors2()
        configuration.frames.append(FakeESO.Frame(proprietary, releaseDate: "2099-11-30T01:02:03.456Z"))
        configuration.proprietary = [proprietary]
        change(&configuration)
        return try FakeESO(configuration)
    }

    /// A project whose spec names `archive` as `eso` (with `credentials` keys), with `body`.
    static func project(_ archive: FakeESO, credentials: String = "", _ body: String) throws -> URL {
        let directory = try TestEnvironment.makeScratchDirectory("eso")
        try """
        version: 1
        destination: data
        archives:
          eso: {url: "\(archive.baseURL)"\(credentials)}
        \(body)
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    static func lock(_ directory: URL) throws -> String {
        try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
    }

    static func lockedPaths(_ directory: URL) throws -> [String] {
        try lock(directory).split(separator: "\n").compactMap { line in
            line.hasPrefix("- path: ") ? String(line.dropFirst("- path: ".count)) : nil
        }
    }

    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CommandResult {
        try Datapin.run(arguments, in: directory, environment: environment)
    }

    /// Every file under `directory`, recursively.
    static func allFiles(_ directory: URL) -> [URL] {
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        return (enumerator?.allObjects as? [URL] ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }


    @Test func idsLockTheExactNamesSizesAndDatesAndSyncTheBytes() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [\(Self.frame), \(Self.twin)]
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(try Self.lockedPaths(directory) == ["\(Self.frame)/\(Self.frame).fits.Z", "\(Self.twin)/\(Self.twin).fits.Z"])
        let lock = try Self.lock(directory)
        let bytes = try #require(archive.bytes(of: Self.frame))
        #expect(lock.contains("size: \(bytes.count)"))
        #expect(lock.contains("modified: \"2021-01-02T09:45:03.123Z\""))
        #expect(lock.contains("uri: eso:\(Self.frame)"))
        #expect(lock.contains("url: \(archive.fileURL(Self.frame))"))
        #expect(lock.contains("access: public"))
        #expect(archive.requests.filter { $0.path == "/datalink/links" }.count == 1, "both ids in one DataLink batch")

        let synced = try Self.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        let placed = directory.appendingPathComponent("data/\(Self.frame)/\(Self.frame).fits.Z")
        #expect(try Data(contentsOf: placed) == bytes, "the compressed bytes as served, not decompressed")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.twin)/\(Self.twin).fits.Z").path))
        #expect(archive.authorizedRequests.isEmpty)
    }

    @Test func anUnknownDpIDFailsTheLockNamingIt() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: eso
            ids: [FORS2.2021-01-02T00:00:00.000]
        """)
        let locked = try Self.run(["lock"], in: directory)
        #expect(locked.status == 2)
        #expect(locked.stderr.contains("has no dataset 'FORS2.2021-01-02T00:00:00.000'"), "\(locked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }
}
