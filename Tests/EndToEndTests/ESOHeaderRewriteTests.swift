import DatapinKit
import Foundation
import Testing
import TestSupport

/// ESO corrects FITS headers on the fly: a resumed download can mix two versions of a file,
/// and a pinned file can come back with other bytes under the same `last_mod_date`. Against
/// the loopback ESO, whose portal rewrites headers per download or serves Range requests
/// from the uncorrected file.
@Suite struct ESOHeaderRewriteTests {
    static let frame = ESOCommandTests.frame

    /// A project locking `frame`, synced once so that its SHA-256 is pinned, then with the
    /// placed file removed so that the next sync downloads it again.
    static func pinnedProject(_ archive: FakeESO) throws -> URL {
        let directory = try ESOCommandTests.project(archive, """
        datasets:
          - archive: eso
            ids: [\(frame)]
        """)
        let locked = try ESOCommandTests.run(["lock"], in: directory)
        #expect(locked.status == 0, "\(locked.stderr)")
        let synced = try ESOCommandTests.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try ESOCommandTests.lock(directory).contains("sha256: "), "the first download pinned the file")
        try FileManager.default.removeItem(at: placed(directory))
        return directory
    }

    static func placed(_ directory: URL) -> URL {
        directory.appendingPathComponent("data/\(frame)/\(frame).fits.Z")
    }

    static func portalRequests(_ archive: FakeESO) -> [LoopbackRequest] {
        archive.requests.filter { $0.method == "GET" && $0.path == "/dataPortal/file/\(frame)" }
    }

    @Test func aResumedDownloadThatMixedTwoHeadersIsFetchedOnceMoreFromByteZero() throws {
        let archive = try ESOCommandTests.archive()
        defer { archive.shutdown() }
        let directory = try Self.pinnedProject(archive)
        let bytes = try #require(archive.bytes(of: Self.frame))
        // Cut where the uncorrected file starts to differ, so the resumed part carries its header.
        let uncorrected = FakeESO.fileBytes(dpID: Self.frame, filename: "\(Self.frame).fits.Z", variant: 1)
        let cut = try #require(Array(zip(bytes, uncorrected)).firstIndex { $0.0 != $0.1 })
        #expect(cut > 0 && uncorrected.count == bytes.count)
        let before = Self.portalRequests(archive).count
        archive.update { configuration in
            configuration.cutNextDownload = [Self.frame: cut]
            configuration.rangesServeUncorrectedHeader = [Self.frame]
        }
        let synced = try ESOCommandTests.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try Data(contentsOf: Self.placed(directory)) == bytes, "the whole file as a download from byte zero serves it")
        let requests = Self.portalRequests(archive).dropFirst(before)
        #expect(requests.map { $0.header("Range") != nil } == [false, true, false], "cut, resumed with a Range, then once more from byte zero")
        #expect(requests.dropFirst().first?.header("Range") == "bytes=\(cut)-")
    }

    @Test func aPinnedFileWithOtherBytesButTheSameModificationDateIsExit4NamingTheHeaderRewrite() throws {
        let archive = try ESOCommandTests.archive { $0.rewritesHeaders = [ESOCommandTests.frame] }
        defer { archive.shutdown() }
        let directory = try Self.pinnedProject(archive)
        let lock = try ESOCommandTests.lock(directory)
        let synced = try ESOCommandTests.run(["sync"], in: directory)
        #expect(synced.status == 4, "\(synced.stderr)")
        let errors = synced.stderr.split(separator: "\n").filter { $0.contains("error:") }
        let rewritten = try #require(errors.first { $0.contains("the archive served different bytes for a file whose modification date did not change (ESO rewrites FITS headers on the fly)") }, "\(synced.stderr)")
        #expect(rewritten.contains("`datapin lock --update \(Self.frame)` re-pins it"), "\(synced.stderr)")
        #expect(!synced.stderr.contains("reprocessed or replaced upstream"), "one explanation, not two: \(synced.stderr)")
        #expect(synced.stderr.contains("modified 2021-01-02T09:45:03.123Z and different bytes: \(Self.frame)/\(Self.frame).fits.Z"), "\(synced.stderr)")
        #expect(!FileManager.default.fileExists(atPath: Self.placed(directory).path), "the other bytes are not placed")
        #expect(try ESOCommandTests.lock(directory) == lock, "the pin stays")
        #expect(Self.portalRequests(archive).count == 2, "a download from byte zero that mismatches is not fetched again")

        let outdated = try ESOCommandTests.run(["outdated"], in: directory)
        #expect(outdated.status == 0, "the archive lists the same date and size: \(outdated.stdout)\(outdated.stderr)")
    }

    /// Needs `lock --update` to drop a pin the archive did not publish (Locking.merge).
    @Test func theRemedyLockUpdateRePinsToTheBytesServedNow() throws {
        let archive = try ESOCommandTests.archive { $0.rewritesHeaders = [ESOCommandTests.frame] }
        defer { archive.shutdown() }
        let directory = try Self.pinnedProject(archive)
        #expect(try ESOCommandTests.run(["sync"], in: directory).status == 4)
        let pinned = try ESOCommandTests.lock(directory)
        let updated = try ESOCommandTests.run(["lock", "--update", Self.frame], in: directory)
        #expect(updated.status == 0, "\(updated.stderr)")
        let synced = try ESOCommandTests.run(["sync"], in: directory)
        #expect(synced.status == 0, "\(synced.stderr)")
        let served = FakeESO.fileBytes(dpID: Self.frame, filename: "\(Self.frame).fits.Z", variant: 2)
        #expect(try Data(contentsOf: Self.placed(directory)) == served, "the third download's bytes")
        let repinned = try ESOCommandTests.lock(directory)
        #expect(repinned != pinned && repinned.contains("sha256: "), "pinned again, to other bytes")
        #expect(try ESOCommandTests.run(["verify"], in: directory).status == 0)
    }
}
