import DatapinKit
import Foundation
import Testing
import TestSupport

/// calSelector's state of each science frame's association (mode asked and run, certified,
/// complete, files named) in the lock, in `ls`, and compared by `outdated`, against the
/// loopback ESO, whose trees can be certified, fall back or lose files while it runs.
@Suite struct ESOCertificationTests {
    static let frame = ESOCommandTests.frame, twin = ESOCommandTests.twin

    /// The lock's block of `path`, without its `- path: ` prefix.
    static func block(_ directory: URL, path: String) throws -> String {
        try #require(try ESOCommandTests.lock(directory).components(separatedBy: "- path: ").first { $0.hasPrefix("\(path)\n") }, "no block for \(path)")
    }

    static func treeFiles(_ configuration: FakeESO.Configuration, _ dpID: String) throws -> Int {
        let frame = try #require(configuration.frames.first { $0.dpID == dpID })
        return try #require(frame.raw2raw).allFiles.filter { $0.name != dpID }.count
    }

    static func project(_ archive: FakeESO, mode: String) throws -> URL {
        try ESOCommandTests.project(archive, """
        datasets:
          - archive: eso
            ids: [\(frame), \(twin)]
            calibrations: \(mode)
        """)
    }

    @Test func theLockRecordsEachFramesAssociationOnItsTreeAndLsShowsIt() throws {
        let archive = try ESOCommandTests.archive { $0.frames[0].raw2raw?.certified = false }
        defer { archive.shutdown() }
        let configuration = try FakeESO.Configuration.fors2()
        let directory = try Self.project(archive, mode: "raw2raw")
        let locked = try ESOCommandTests.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")

        let frameTree = try Self.block(directory, path: "\(Self.frame)/\(Self.frame)_raw2raw.xml")
        let frameFiles = try Self.treeFiles(configuration, Self.frame)
        #expect(frameTree.contains("\n  association: {mode: Raw2Raw, executed: Raw2Raw, certified: false, complete: true, files: \(frameFiles)}\n"), "\(frameTree)")
        let twinTree = try Self.block(directory, path: "\(Self.twin)/\(Self.twin)_raw2raw.xml")
        #expect(twinTree.contains("\n  association: {mode: Raw2Raw, executed: Raw2Raw, certified: true, complete: true, files: \(try Self.treeFiles(configuration, Self.twin))}\n"), "\(twinTree)")
        let lock = try ESOCommandTests.lock(directory)
        #expect(lock.components(separatedBy: "  association: ").count == 3, "only the two trees carry an association")
        #expect(!(try Self.block(directory, path: "\(Self.frame)/\(Self.frame).fits.Z")).contains("association"))

        let relocked = try ESOCommandTests.run(["lock"], in: directory)
        #expect(relocked.status == 0, "\(relocked.stderr)")
        #expect(try ESOCommandTests.lock(directory) == lock, "locking again gives the same bytes")

        let listed = try ESOCommandTests.run(["ls"], in: directory)
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n")
        let frameLine = try #require(lines.last { $0.contains(Self.frame) })
        #expect(frameLine.contains("Raw2Raw uncertified complete, \(frameFiles) files"), "\(listed.stdout)")
        let twinLine = try #require(lines.last { $0.contains(Self.twin) })
        #expect(twinLine.contains("Raw2Raw certified complete"), "\(listed.stdout)")

        let json = try ESOCommandTests.run(["ls", "--json"], in: directory)
        #expect(json.status == 0, "\(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let associations = try #require(document["associations"] as? [[String: Any]])
        #expect(associations.map { $0["dataset"] as? String } == [Self.frame, Self.twin])
        #expect(associations.first?["certified"] as? Bool == false && associations.last?["certified"] as? Bool == true)
        #expect(associations.first?["executed"] as? String == "Raw2Raw" && associations.first?["mode"] as? String == "Raw2Raw")
        #expect(associations.first?["path"] as? String == "\(Self.frame)/\(Self.frame)_raw2raw.xml")
        #expect(associations.first?["files"] as? Int == frameFiles)
    }

    @Test func aTreeCertifiedUpstreamIsOutdatedNamingTheFrameAndLockUpdateRecordsIt() throws {
        let archive = try ESOCommandTests.archive { $0.frames[0].raw2raw?.certified = false }
        defer { archive.shutdown() }
        let directory = try Self.project(archive, mode: "raw2raw")
        #expect(try ESOCommandTests.run(["lock"], in: directory).status == 0)
        let fresh = try ESOCommandTests.run(["outdated"], in: directory)
        #expect(fresh.status == 0, "\(fresh.stdout)\(fresh.stderr)")

        archive.update { $0.frames[0].raw2raw?.certified = true }
        let outdated = try ESOCommandTests.run(["outdated"], in: directory)
        #expect(outdated.status == 1, "\(outdated.stdout)\(outdated.stderr)")
        #expect(outdated.stdout.contains("\(Self.frame): 1 file changed upstream"), "\(outdated.stdout)")
        #expect(outdated.stdout.contains("\(Self.frame)/\(Self.frame)_raw2raw.xml: certified: no → yes"), "\(outdated.stdout)")
        #expect(!outdated.stdout.contains(Self.twin), "\(outdated.stdout)")
        let json = try ESOCommandTests.run(["outdated", "--json"], in: directory)
        #expect(json.stdout.contains("\"field\": \"association.certified\""), "\(json.stdout)")

        let plain = try ESOCommandTests.run(["lock"], in: directory)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try Self.block(directory, path: "\(Self.frame)/\(Self.frame)_raw2raw.xml").contains("certified: false"), "a plain lock keeps what was locked")
        #expect(plain.stderr.contains("changed upstream"), "\(plain.stderr)")

        let updated = try ESOCommandTests.run(["lock", "--update", Self.frame], in: directory)
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect(try Self.block(directory, path: "\(Self.frame)/\(Self.frame)_raw2raw.xml").contains("certified: true"))
        let after = try ESOCommandTests.run(["outdated"], in: directory)
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
    }

    @Test func aTreeThatLostACalibrationAndAFallbackThatEndedAreOutdatedNamingTheFrame() throws {
        let archive = try ESOCommandTests.archive()
        defer { archive.shutdown() }
        let configuration = try FakeESO.Configuration.fors2()
        let directory = try Self.project(archive, mode: "raw2master")
        let locked = try ESOCommandTests.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(try Self.block(directory, path: "\(Self.frame)/\(Self.frame)_raw2master.xml").contains("association: {mode: Raw2Master, executed: Raw2Raw, certified: true"))
        let listed = try ESOCommandTests.run(["ls", Self.frame], in: directory)
        #expect(listed.stdout.contains("Raw2Master→Raw2Raw certified complete"), "\(listed.stdout)")

        // The frame's tree loses a calibration no other tree names; the twin's gets masters.
        let frameTree = try #require(configuration.frames[0].raw2raw)
        let twinNames = Set(try #require(configuration.frames[1].raw2raw).allFiles.map(\.name))
        let dropped = try #require(frameTree.allFiles.last { $0.name != Self.frame && !twinNames.contains($0.name) })
        func removing(_ name: String, from association: FakeESO.Association) -> FakeESO.Association {
            var association = association
            association.files.removeAll { $0.name == name }
            association.associations = association.associations.map { removing(name, from: $0) }
            return association
        }
        archive.update { configuration in
            configuration.frames[0].raw2raw = removing(dropped.name, from: frameTree)
            var masters = configuration.frames[1].raw2raw
            masters?.mode = "Raw2Master"
            configuration.frames[1].raw2master = masters
        }
        let outdated = try ESOCommandTests.run(["outdated"], in: directory)
        #expect(outdated.status == 1, "\(outdated.stdout)\(outdated.stderr)")
        let files = try Self.treeFiles(configuration, Self.frame)
        #expect(outdated.stdout.contains("\(Self.frame)/\(Self.frame)_raw2master.xml: calibration tree: \(files) → \(files - 1) files"), "\(outdated.stdout)")
        #expect(outdated.stdout.contains("\(Self.frame)/\(FakeESO.servedName(of: dropped.name)): no longer listed by the archive"), "\(outdated.stdout)")
        #expect(outdated.stdout.contains("\(Self.twin)/\(Self.twin)_raw2master.xml: executed mode: Raw2Raw → Raw2Master"), "\(outdated.stdout)")
    }
}
