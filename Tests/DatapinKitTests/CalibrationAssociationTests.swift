import DatapinKit
@testable import DatapinLock
import Foundation
import Testing

/// A frame's calibration association: how `outdated` words each change, how `ls` sums it up,
/// and that the lock it is written into passes the lock's JSON Schema.
@Suite struct CalibrationAssociationTests {
    static let locked = CalibrationAssociation(mode: .raw2master, executed: "Raw2Raw", certified: false, complete: false, files: 50)

    @Test func eachChangedValueIsOneChangeWordedForAPerson() {
        var listed = Self.locked
        listed.executed = "Raw2Master"
        listed.certified = true
        listed.complete = true
        listed.files = 52
        let changes = UpstreamChange.associationChanges(Self.locked, listed)
        #expect(changes.map(\.phrase) == ["executed mode: Raw2Raw → Raw2Master", "certified: no → yes", "complete: no → yes", "calibration tree: 50 → 52 files"])
        #expect(changes.map(\.field) == ["association.executed", "association.certified", "association.complete", "association.files"])
        #expect(changes[1].values.locked == "false" && changes[1].values.listed == "true")
    }

    @Test func anUnchangedAssociationAnOldLockAndAMissingValueAreNoChange() {
        #expect(UpstreamChange.associationChanges(Self.locked, Self.locked).isEmpty)
        #expect(UpstreamChange.associationChanges(nil, Self.locked).isEmpty, "a lock from before associations were recorded")
        var unknown = Self.locked
        unknown.executed = nil
        unknown.files = nil
        #expect(UpstreamChange.associationChanges(Self.locked, unknown).isEmpty)
    }

    @Test func theSummaryShowsAFallbackAndTheFlags() {
        #expect(Self.locked.summary == "Raw2Master→Raw2Raw uncertified incomplete")
        #expect(CalibrationAssociation(mode: .raw2raw, executed: "Raw2Raw", certified: true, complete: true).summary == "Raw2Raw certified complete")
        #expect(CalibrationAssociation(mode: .raw2raw, certified: true, complete: true).fellBack == false)
    }

    @Test func aLockWithAnAssociationPassesTheLockSchema() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("association-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let lock = Lockfile(specDigest: "sha256:" + String(repeating: "ab", count: 32), files: [
            LockEntry(path: "F/F_raw2master.xml", archive: "eso", dataset: "F", uri: "eso:F/F_raw2master.xml", url: "https://x/tree", size: 10, type: .association, association: Self.locked),
            LockEntry(path: "F/M.cal.fits", archive: "eso", dataset: "F", uri: "eso:M.cal", url: "https://x/cal", size: 10, type: .calibration),
        ])
        let file = directory.appendingPathComponent("datapin.lock")
        try LockWriter.render(lock).write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("schema/validate.py").path, file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
    }
}
