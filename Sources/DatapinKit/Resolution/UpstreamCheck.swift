import DatapinArchives
import DatapinLock
import DatapinSelection

/// `datapin outdated`: asks every archive the spec uses for its current listings, as `lock`
/// does, and has each adapter say how the locked files differ from them. Nothing is downloaded
/// and nothing is written.
public struct UpstreamCheck: Sendable {
    public var locker: Locker

    public init(locker: Locker) {
        self.locker = locker
    }

    /// Every locked file compared with its archive's listing of the same URI (in the same
    /// dataset when several datasets list it); files of archives the spec no longer names are
    /// `unchecked`.
    public func run(lock: Lockfile, progress: (@Sendable (ListingProgress) -> Void)? = nil) async throws(LockingError) -> OutdatedReport {
        let listings = try await locker.listings(locker.loaded.spec, progress: progress)
        var listedByURI: [ListedKey: [Product]] = [:]
        for group in listings.groups {
            for product in group.products {
                listedByURI[ListedKey(archive: product.archive, uri: product.uri), default: []].append(product)
            }
        }
        var outdated: [OutdatedFile] = []
        var unchecked: [LockEntry] = []
        var checked = 0
        for entry in lock.files {
            guard let adapter = listings.adapters[entry.archive] else {
                unchecked.append(entry)
                continue
            }
            checked += 1
            let candidates = listedByURI[ListedKey(archive: entry.archive, uri: entry.uri)] ?? []
            let listed = candidates.first { $0.dataset == entry.dataset } ?? candidates.first
            let changes = adapter.upstreamChanges(of: entry, listed: listed)
            if !changes.isEmpty { outdated.append(OutdatedFile(entry: entry, changes: changes)) }
        }
        return OutdatedReport(checked: checked, files: outdated, unchecked: unchecked)
    }

    private struct ListedKey: Hashable {
        var archive: String
        var uri: String
    }
}
