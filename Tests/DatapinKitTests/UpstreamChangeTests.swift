import DatapinKit
@testable import DatapinArchives
@testable import DatapinLock
@testable import DatapinResolution
import Testing

/// How a locked file is compared with its archive's current listing (`datapin outdated`), and
/// how the report reads.
@Suite struct UpstreamChangeTests {
    static let locked = LockEntry(path: "ds/a.fits", archive: "lab", dataset: "ds", uri: "index:lab/ds/a.fits", url: "https://lab.example.org/ds/a.fits",
                                  size: 100, sha256: String(repeating: "0", count: 64), checksum: Checksum(algorithm: "md5", hex: String(repeating: "1", count: 32)),
                                  modified: "2026-01-01T00:00:00Z", access: .exclusive)

    static func listed(_ change: (inout Product) -> Void = { _ in }) -> Product {
        var product = Product(archive: "lab", dataset: "ds", filename: "a.fits", uri: locked.uri, url: locked.url, size: locked.size, sha256: locked.sha256,
                              checksum: locked.checksum, modified: locked.modified, access: locked.access)
        change(&product)
        return product
    }

    @Test func theSameListingIsNoChange() {
        #expect(UpstreamChange.differences(Self.locked, Self.listed(), comparing: Set(PublishedFact.allCases)).isEmpty)
    }

    @Test func everyPublishedFactThatDiffersIsNamedInLockKeyOrder() {
        let listed = Self.listed {
            $0.access = .public
            $0.modified = "2026-11-30T10:00:00Z"
            $0.size = 120
            $0.sha256 = String(repeating: "f", count: 64)
            $0.checksum = Checksum(algorithm: "md5", hex: String(repeating: "2", count: 32))
            $0.url = "https://mirror.example.org/ds/a.fits"
        }
        let changes = UpstreamChange.differences(Self.locked, listed, comparing: Set(PublishedFact.allCases))
        #expect(changes.map(\.field) == ["size", "sha256", "checksum", "modified", "url", "access"])
        #expect(changes.first?.phrase == "size 100 → 120")
        #expect(changes.last?.phrase == "access exclusive → public")
    }

    @Test func onlyTheFactsAnArchivePublishesAreCompared() {
        let listed = Self.listed {
            $0.size = 120
            $0.modified = "2026-11-30T10:00:00Z"
        }
        #expect(UpstreamChange.differences(Self.locked, listed, comparing: [.size, .access, .url]).map(\.field) == ["size"])
    }

    @Test func aFactTheListingLeavesOutIsNotAChange() {
        let listed = Self.listed {
            $0.size = nil
            $0.sha256 = nil
            $0.checksum = nil
            $0.modified = nil
        }
        #expect(UpstreamChange.differences(Self.locked, listed, comparing: Set(PublishedFact.allCases)).isEmpty)
    }

    @Test func aFileNoLongerListedIsNotListed() {
        #expect(UpstreamChange.differences(Self.locked, nil, comparing: [.size]) == [.notListed])
    }

    @Test func aChangedModificationDateAloneIsAnUpstreamChangeAndKeepsTheLockedOne() {
        var fresh = Self.locked
        fresh.modified = "2026-11-30T10:00:00Z"
        var changed: [String] = []
        let kept = Locker.merge(fresh, previous: Self.locked, refresh: false, upstreamChanges: &changed)
        #expect(changed == ["ds/a.fits"])
        #expect(kept.modified == "2026-01-01T00:00:00Z")
        var refreshed: [String] = []
        #expect(Locker.merge(fresh, previous: Self.locked, refresh: true, upstreamChanges: &refreshed).modified == "2026-11-30T10:00:00Z")
        #expect(refreshed.isEmpty)
    }

    @Test func theReportGroupsByDatasetAndCountsWhatWasChecked() {
        var other = Self.locked
        other.path = "ds2/b.fits"
        other.dataset = "ds2"
        var gone = Self.locked
        gone.path = "old/c.fits"
        gone.archive = "retired"
        let report = OutdatedReport(checked: 5, files: [
            OutdatedFile(entry: other, changes: [.archiveReason("the calibration tree changed")]),
            OutdatedFile(entry: Self.locked, changes: [.size(locked: 100, listed: 120), .notListed]),
        ], unchecked: [gone])
        #expect(report.render(json: false) == """
        ds: 1 file changed upstream
          ds/a.fits: size 100 → 120; no longer listed by the archive
        ds2: 1 file changed upstream
          ds2/b.fits: the calibration tree changed
        2 of 5 locked files changed upstream in 2 datasets; `datapin plan --update` shows what `datapin lock --update` would take
        Not checked: 1 locked file of 'retired', which the spec no longer names; `datapin lock` drops them

        """)
        #expect(OutdatedReport(checked: 1, files: []).render(json: false) == "The locked file is as its archive lists it\n")
    }
}
