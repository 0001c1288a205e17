import DatapinKit
import Foundation
import Testing
import TestSupport

/// The built binary given damaged or hostile files: a lock cut short, YAML bombs, binary and
/// non-UTF-8 files, a lock path inside datapin's working folders. Each is refused with exit 2 at
/// its file, line and column, in datapin's own words, and nothing is fetched or changed.
@Suite struct DamagedInputTests {
    /// A project locked against a loopback index archive of three files, not yet synced.
    struct Project {
        let directory: URL
        let server: LoopbackServer

        var lock: URL { directory.appendingPathComponent("datapin.lock") }
        var spec: URL { directory.appendingPathComponent("datapin.yaml") }
        var data: URL { directory.appendingPathComponent("data") }

        func run(_ arguments: [String]) throws -> CommandResult {
            try Datapin.run(arguments, in: directory)
        }

        /// Requests for files, not for the catalog.
        var fileRequests: Int { server.requests.filter { $0.path != "/catalog.json" }.count }
    }

    static func lockedProject() throws -> Project {
        let directory = try TestEnvironment.makeScratchDirectory("damaged")
        let served = try TestEnvironment.makeScratchDirectory("damaged-served")
        try FileManager.default.createDirectory(at: served.appendingPathComponent("ds1"), withIntermediateDirectories: true)
        var listed: [[String: Any]] = []
        for (index, name) in ["a.fits", "b.fits", "c.fits"].enumerated() {
            let bytes = Data((0..<(1000 + index * 100)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) })
            try bytes.write(to: served.appendingPathComponent("ds1/\(name)"))
            listed.append(["name": name, "url": "ds1/\(name)", "size": bytes.count])
        }
        let catalog = try JSONSerialization.data(withJSONObject: ["datasets": [["id": "ds1", "files": listed]]], options: [.sortedKeys])
        try catalog.write(to: served.appendingPathComponent("catalog.json"))
        let server = try LoopbackServer(handler: LoopbackServer.files(root: served))
        try """
        version: 1
        destination: data
        archives:
          lab: {type: index, url: "\(server.baseURL)/catalog.json"}
        datasets:
          - archive: lab
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let project = Project(directory: directory, server: server)
        let lock = try project.run(["lock"])
        #expect(lock.status == 0, "lock: \(lock.stderr)")
        return project
    }

    // MARK: A lock cut short

    /// Cut at 60 % of its bytes (inside a block), and just before the last block (what is left
    /// then reads as a valid lock of two files, which sync used to accept).
    @Test(arguments: [false, true])
    func aLockCutShortIsRefusedBySyncAndNothingIsFetched(beforeTheLastBlock: Bool) throws {
        let project = try Self.lockedProject()
        defer { project.server.shutdown() }
        let whole = try Data(contentsOf: project.lock)
        var cut = whole.prefix(whole.count * 6 / 10)
        if beforeTheLastBlock {
            let lastBlock = try #require(whole.range(of: Data("\n- path: ".utf8), options: .backwards))
            cut = whole.prefix(lastBlock.lowerBound + 1)
        }
        try cut.write(to: project.lock)
        let requestsBefore = project.fileRequests

        let sync = try project.run(["sync"])
        #expect(sync.status == 2, "sync: \(sync.stderr)")
        let lastLine = String(decoding: cut, as: UTF8.self).split(separator: "\n").count
        #expect(sync.stderr.contains("datapin.lock:\(lastLine):"), "\(sync.stderr)")
        #expect(sync.stderr.contains("cut short"))
        #expect(sync.stderr.contains("restore it from version control, or run `datapin lock`"))
        #expect(project.fileRequests == requestsBefore)
        #expect(try Data(contentsOf: project.lock) == cut)
        #expect(!FileManager.default.fileExists(atPath: project.data.appendingPathComponent("ds1/a.fits").path))
    }

    @Test(arguments: [["status"], ["verify"], ["ls"], ["export", "csv"], ["plan"], ["lock", "--check"]])
    func everyCommandButLockRefusesALockCutShort(arguments: [String]) throws {
        let project = try Self.lockedProject()
        defer { project.server.shutdown() }
        let whole = try Data(contentsOf: project.lock)
        let cut = whole.prefix(whole.count * 6 / 10)
        try cut.write(to: project.lock)
        let result = try project.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("cut short"), "\(arguments): \(result.stderr)")
        #expect(try Data(contentsOf: project.lock) == cut)
    }

    @Test func lockRecoversALockCutShortWithAWarning() throws {
        let project = try Self.lockedProject()
        defer { project.server.shutdown() }
        let whole = try String(contentsOf: project.lock, encoding: .utf8)
        try String(whole.prefix(whole.count * 6 / 10)).write(to: project.lock, atomically: true, encoding: .utf8)
        let lock = try project.run(["lock"])
        #expect(lock.status == 0, "lock: \(lock.stderr)")
        #expect(lock.stderr.contains("warning:") && lock.stderr.contains("cut short"), "\(lock.stderr)")
        #expect(try String(contentsOf: project.lock, encoding: .utf8) == whole)
        let sync = try project.run(["sync"])
        #expect(sync.status == 0, "sync: \(sync.stderr)")
    }

    // MARK: YAML without bounds

    static let bombs: [(name: String, text: String, message: String)] = {
        var laughs = "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n"
        for level in 1..<9 {
            let previous = Character(UnicodeScalar(UInt8(0x60 + level)))
            let name = Character(UnicodeScalar(UInt8(0x61 + level)))
            laughs += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        var tree = "l0: &l0 [x, x]\n"
        for level in 1..<24 { tree += "l\(level): &l\(level) [*l\(level - 1), *l\(level - 1)]\n" }
        let deepMappings = String(repeating: "{a: ", count: 100_000) + "x" + String(repeating: "}", count: 100_000) + "\n"
        let deepLists = String(repeating: "[", count: 100_000) + "\n"
        return [
            ("billion laughs", laughs, "aliases expand to more than"),
            ("24-level alias tree", tree, "aliases expand to more than"),
            ("100,000-deep mappings", deepMappings, "nested deeper than 64 levels"),
            ("100,000 [", deepLists, "nested deeper than 64 levels"),
        ]
    }()

    /// Every bomb as the spec: refused at its position, the line quoted with secrets masked
    /// without parsing (in time linear in the line, or the 100,000-deep mapping would hang).
    @Test(arguments: 0..<4)
    func aYAMLBombSpecIsRefusedWithAPosition(index: Int) throws {
        let bomb = Self.bombs[index]
        let directory = try TestEnvironment.makeScratchDirectory("bomb")
        try bomb.text.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let result = try Datapin.run(["plan"], in: directory)
        #expect(result.status == 2, "\(bomb.name): \(result.stderr)")
        #expect(result.stderr.range(of: #"datapin\.yaml:\d+:\d+: error: "#, options: .regularExpression) != nil, "\(bomb.name): \(result.stderr)")
        #expect(result.stderr.contains(bomb.message), "\(bomb.name): \(result.stderr)")
    }

    @Test(arguments: 0..<4)
    func aYAMLBombLockIsRefusedWithAPosition(index: Int) throws {
        let bomb = Self.bombs[index]
        let project = try Self.lockedProject()
        defer { project.server.shutdown() }
        try (bomb.text + LockWriter.closingLine + "\n").write(to: project.lock, atomically: true, encoding: .utf8)
        let result = try project.run(["sync"])
        #expect(result.status == 2, "\(bomb.name): \(result.stderr)")
        #expect(result.stderr.range(of: #"datapin\.lock:\d+:\d+: error: "#, options: .regularExpression) != nil, "\(bomb.name): \(result.stderr)")
        let expected = bomb.message.hasPrefix("aliases") ? "anchors (&name) and aliases (*name) are not allowed" : bomb.message
        #expect(result.stderr.contains(expected), "\(bomb.name): \(result.stderr)")
        #expect(project.fileRequests == 0)
    }

    // MARK: Binary and non-UTF-8 files

    static let badBytes: [(name: String, bytes: [UInt8], position: String, message: String)] = [
        ("NUL then 0xFF", [0x00, 0xFF], "1:1", "has a NUL byte here, so it is a binary file"),
        ("Latin-1", Array("version: 1\ndestination: caf".utf8) + [0xE9] + Array("\n".utf8), "2:17", "byte 0xE9 here is not UTF-8"),
        ("UTF-16", [0xFF, 0xFE] + Array("v".utf8) + [0x00], "1:1", "looks like UTF-16 text; save it as UTF-8"),
    ]

    @Test(arguments: 0..<3)
    func aBinarySpecIsRefusedAtItsFirstBadByte(index: Int) throws {
        let bad = Self.badBytes[index]
        let directory = try TestEnvironment.makeScratchDirectory("binary-spec")
        try Data(bad.bytes).write(to: directory.appendingPathComponent("datapin.yaml"))
        let result = try Datapin.run(["lock"], in: directory)
        #expect(result.status == 2, "\(bad.name): \(result.stderr)")
        #expect(result.stderr.contains("datapin.yaml:\(bad.position): error: "), "\(bad.name): \(result.stderr)")
        #expect(result.stderr.contains(bad.message), "\(bad.name): \(result.stderr)")
        #expect(!result.stderr.contains("The operation could not be completed"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    @Test(arguments: 0..<3)
    func aBinaryLockIsRefusedAtItsFirstBadByteAndLockMakesItAfresh(index: Int) throws {
        let bad = Self.badBytes[index]
        let project = try Self.lockedProject()
        defer { project.server.shutdown() }
        try Data(bad.bytes).write(to: project.lock)
        let sync = try project.run(["sync"])
        #expect(sync.status == 2, "\(bad.name): \(sync.stderr)")
        #expect(sync.stderr.contains("datapin.lock:\(bad.position): error: "), "\(bad.name): \(sync.stderr)")
        #expect(sync.stderr.contains(bad.message), "\(bad.name): \(sync.stderr)")
        #expect(!sync.stderr.contains("The operation could not be completed"))
        #expect(try Data(contentsOf: project.lock) == Data(bad.bytes))
        #expect(project.fileRequests == 0)

        // The errors say to run `datapin lock`, so locking gets past the damage: it is shown at
        // its place and the lock is made afresh.
        let lock = try project.run(["lock"])
        #expect(lock.status == 0, "\(bad.name): \(lock.stderr)")
        #expect(lock.stderr.contains("datapin.lock:\(bad.position): warning: "), "\(bad.name): \(lock.stderr)")
        #expect(lock.stderr.contains("datapin.lock cannot be read, so it is locked afresh without its pins"), "\(bad.name): \(lock.stderr)")
        #expect(try project.run(["ls"]).status == 0)
    }

    // MARK: Unsafe lock paths

    @Test func aLockPathInDatapinsWorkingFolderIsRefusedAtItsPosition() throws {
        let project = try Self.lockedProject()
        defer { project.server.shutdown() }
        var lock = try LockReader.read(contentsOf: project.lock.path)
        lock.files[1].path = ".datapin-partial/evil.bin"
        let text = LockWriter.render(lock)
        try text.write(to: project.lock, atomically: true, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").firstIndex { $0 == "- path: .datapin-partial/evil.bin" }) + 1
        for arguments in [["sync"], ["verify"], ["status"]] {
            let result = try project.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("datapin.lock:\(line):9: error: 'path' must be a relative path that stays inside the destination, found '.datapin-partial/evil.bin': the path starts with '.datapin-partial', which datapin reserves for its working files"), "\(arguments): \(result.stderr)")
        }
        #expect(project.fileRequests == 0)
        #expect(!FileManager.default.fileExists(atPath: project.data.appendingPathComponent(".datapin-partial/evil.bin").path))
    }
}
