import DatapinKit
@testable import DatapinArchives
@testable import DatapinExport
@testable import DatapinLock
@testable import DatapinSpec
@testable import DatapinSync
@testable import DatapinTransfer
import Foundation
import Testing

/// The download manifest shared by `sync` and `export manifest`: MAST's statuses, duplicate rows,
/// and what export carries over from the last sync's manifest.json.
@Suite struct ExportManifestTests {
    static let digest = "sha256:" + String(repeating: "1", count: 64)

    static func entry(_ path: String, dataset: String = "ds1", access: Access = .public, also: [String] = [], alsoPaths: [String] = []) -> LockEntry {
        LockEntry(path: path, archive: "mast", dataset: dataset, uri: "mast:JWST/product/\((path as NSString).lastPathComponent)",
                  url: "https://mast.stsci.edu/\(path)", size: 10, access: access, also: also, alsoPaths: alsoPaths)
    }

    @Test(arguments: [
        (DownloadManifest.Status.ok, "OK"),
        (.duplicate(file: "pool.csv", folder: "jw0133_01_01", placed: .once), "Duplicate of file pool.csv in folder jw0133_01_01"),
        (.duplicate(file: "pool.csv", folder: "jw0133_01_01", placed: .link), "Duplicate of file pool.csv in folder jw0133_01_01, hard-linked here"),
        (.duplicate(file: "pool.csv", folder: ".", placed: .copy), "Duplicate of file pool.csv in folder ., copied here"),
        (.skippedNoToken, "skipped: exclusive access, no token"),
        (.failed("HTTP 503"), "failed: HTTP 503"),
        (.missing("not downloaded yet"), "missing: not downloaded yet"),
        (.modified("size 9 B, locked 10 B"), "modified: size 9 B, locked 10 B"),
    ])
    func statusesReadAsMASTsManifest(status: DownloadManifest.Status, text: String) {
        #expect(status.text == text)
    }

    @Test func onlyFailuresAndSkipsAreCarriedOverFromARecordedStatus() {
        #expect(DownloadManifest.Status(recorded: "failed: HTTP 503") == .failed("HTTP 503"))
        #expect(DownloadManifest.Status(recorded: "skipped: exclusive access, no token") == .skippedNoToken)
        #expect(DownloadManifest.Status(recorded: "OK") == nil)
        #expect(DownloadManifest.Status(recorded: "missing: not downloaded yet") == nil)
    }

    @Test func afterSyncGivesOKSkippedFailedAndDuplicateRowsWithTheArchivesUser() throws {
        let lock = Lockfile(specDigest: Self.digest, files: [
            Self.entry("ds1/a.fits", also: ["ds2"]),
            Self.entry("ds1/b.fits", access: .exclusive),
            Self.entry("ds1/c.fits"),
        ])
        var report = SyncReport()
        report.skippedForCredentials = [lock.files[1]]
        report.failed = [(path: "ds1/c.fits", failure: .httpStatus(url: "https://mast.stsci.edu/ds1/c.fits", status: 503))]
        report.pins = ["ds1/a.fits": "ab"]
        let manifest = ManifestBuilder.afterSync(lock: lock, duplicates: .once, report: report,
                                                 missingVariables: ["mast": "MAST_API_TOKEN"], users: ["mast": "ada@stsci.edu"])
        let byFile = Dictionary(uniqueKeysWithValues: manifest.rows.map { ($0.file, $0) })
        #expect(manifest.rows.map(\.file) == ["ds1/a.fits", "ds1/b.fits", "ds1/c.fits", "ds2/a.fits"])
        #expect(byFile["ds1/a.fits"]?.status == .ok)
        #expect(byFile["ds1/a.fits"]?.sha256 == "ab")
        #expect(byFile["ds1/b.fits"]?.status == .skippedNoToken)
        #expect(byFile["ds1/b.fits"]?.detail == "set MAST_API_TOKEN")
        let failed = try #require(byFile["ds1/c.fits"])
        #expect(failed.status == .failed(TransferFailure.httpStatus(url: "https://mast.stsci.edu/ds1/c.fits", status: 503).message))
        #expect(byFile["ds2/a.fits"]?.status == .duplicate(file: "a.fits", folder: "ds1", placed: .once))
        #expect(manifest.rows.allSatisfy { $0.user == "ada@stsci.edu" })
        #expect(manifest.html().contains("<td>skipped: exclusive access, no token (set MAST_API_TOKEN)</td><td>ada@stsci.edu</td>"))
    }

    @Test func aFileAlreadyInPlaceKeepsTheUserItWasFetchedAs() {
        let lock = Lockfile(specDigest: Self.digest, files: [Self.entry("ds1/a.fits"), Self.entry("ds1/b.fits"), Self.entry("ds1/c.fits")])
        var report = SyncReport()
        report.placed = ["ds1/b.fits"]
        let recorded = [
            "ds1/a.fits": DownloadManifest.RecordedRow(uri: lock.files[0].uri, status: "OK", user: "anonymous"),
            "ds1/b.fits": DownloadManifest.RecordedRow(uri: lock.files[1].uri, status: "failed: HTTP 503", user: "anonymous"),
            "ds1/c.fits": DownloadManifest.RecordedRow(uri: "mast:JWST/product/replaced.fits", status: "OK", user: "someone else"),
        ]
        let rows = ManifestBuilder.afterSync(lock: lock, duplicates: .once, report: report, missingVariables: [:], users: ["mast": "Jane Doe"], recorded: recorded).rows
        #expect(rows.map(\.user) == ["anonymous", "Jane Doe", "Jane Doe"], "kept: as recorded; fetched now or a different file: this run's user")
    }

    @Test func aDuplicatesOwnPathCarriesItsStatusAndAFailedPlacementIsAFailure() {
        let lock = Lockfile(specDigest: Self.digest, files: [
            Self.entry("ds1/a.fits", also: ["ds2", "ds3"], alsoPaths: ["ds2/a.fits", "ds3/a.fits"]),
        ])
        var report = SyncReport()
        report.failed = [(path: "ds3/a.fits", failure: .fileSystem(path: "ds3/a.fits", reason: "could not create the folder"))]
        let rows = ManifestBuilder.afterSync(lock: lock, duplicates: .copy, report: report, missingVariables: [:], users: [:]).rows
        #expect(rows.map(\.file) == ["ds1/a.fits", "ds2/a.fits", "ds3/a.fits"])
        #expect(rows[1].status == .duplicate(file: "a.fits", folder: "ds1", placed: .copy))
        #expect(rows[2].status == .failed(TransferFailure.fileSystem(path: "ds3/a.fits", reason: "could not create the folder").message))
        #expect(rows.allSatisfy { $0.user == "anonymous" })
    }

    @Test func duplicatePathsGoToTheDatasetWhoseFolderTheyAreIn() {
        let entry = Self.entry("ds1/a.fits", also: ["z/b", "ds2", "ds4"], alsoPaths: ["ds2/a.fits", "other/a.fits", "z_b/a.fits"])
        let listings = ManifestBuilder.duplicateListings(of: entry)
        #expect(listings.map(\.dataset) == ["z/b", "ds2", "ds4"])
        #expect(listings.map(\.path) == ["z_b/a.fits", "ds2/a.fits", "other/a.fits"])
    }

    @Test func fromTreeReportsTheTreeAndKeepsTheLastSyncsFailuresAndUsers() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let lock = Lockfile(specDigest: Self.digest, files: [
            Self.entry("ds1/a.fits"), Self.entry("ds1/b.fits"), Self.entry("ds1/c.fits", access: .exclusive), Self.entry("ds1/d.fits"), Self.entry("ds1/e.fits"),
        ])
        try scratch.write("ds1/a.fits", String(repeating: "a", count: 10))
        try scratch.write("ds1/e.fits", "short")
        let recorded: [String: DownloadManifest.RecordedRow] = [
            "ds1/a.fits": .init(uri: "mast:JWST/product/a.fits", status: "OK", user: "ada"),
            "ds1/b.fits": .init(uri: "mast:JWST/product/b.fits", status: "failed: HTTP 503", user: "ada"),
            "ds1/c.fits": .init(uri: "mast:JWST/product/c.fits", status: "skipped: exclusive access, no token", user: "anonymous"),
            "ds1/d.fits": .init(uri: "mast:JWST/product/OLD.fits", status: "failed: HTTP 404", user: "bob"),
        ]
        let status = TreeStatusScanner.scan(lock: lock, tree: scratch.tree, cache: StateCache.load(from: scratch.tree), duplicates: .once)
        let rows = ManifestBuilder.fromTree(lock: lock, duplicates: .once, status: status, recorded: recorded).rows
        #expect(rows.map(\.status.text) == [
            "OK", "failed: HTTP 503", "skipped: exclusive access, no token", "missing: not downloaded yet", "modified: \(try #require(status.modified.first).reason)",
        ])
        #expect(rows.map(\.user) == ["ada", "ada", "anonymous", "anonymous", "anonymous"])
    }

    @Test func htmlIsEscapedAndJSONReadsBackAsRecordedRows() {
        let manifest = DownloadManifest(rows: [
            DownloadManifest.Row(uri: "index:lab/<ds>/a&b.fits", file: "ds/a&b.fits", access: "public", status: .failed("server said \"no\""), user: "o'brien"),
        ], specDigest: Self.digest)
        let html = manifest.html()
        #expect(html.contains("<td>index:lab/&lt;ds&gt;/a&amp;b.fits</td><td>ds/a&amp;b.fits</td><td>public</td><td>failed: server said &quot;no&quot;</td><td>o&#39;brien</td>"))
        #expect(!html.contains("<ds>"))
        let recorded = DownloadManifest.recordedRows(json: Data(manifest.json().utf8))
        #expect(recorded == ["ds/a&b.fits": DownloadManifest.RecordedRow(uri: "index:lab/<ds>/a&b.fits", status: "failed: server said \"no\"", user: "o'brien")])
    }
}
