import DatapinLock
import DatapinSelection
import DatapinSpec
import Foundation

/// An archive adapter: turns one `datasets:` entry into the products the archive lists for it.
/// Adapters know their protocol and nothing of the local tree.
public protocol Archive: Sendable {
    /// The name the spec uses for this archive.
    var name: String { get }
    /// Every product the archive lists for the entry, before any `select` filter.
    /// Requests go through the run's `HTTPClient`, whose limiter bounds them per host.
    func products(for entry: DatasetEntry) async throws(ArchiveError) -> [Product]
    /// How a locked file differs from the archive's current listing of it (`datapin outdated`),
    /// comparing what this archive publishes; `listed` is nil when no entry lists it any more.
    func upstreamChanges(of locked: LockEntry, listed: Product?) -> [UpstreamChange]
    /// The entry's products and what `lock` should warn about them (an association ESO calls
    /// incomplete); the default lists `products(for:)` with no warning.
    func listing(for entry: DatasetEntry) async throws(ArchiveError) -> ArchiveListing
}

/// One entry's listing: its products and warnings, each one plain sentence.
public struct ArchiveListing: Sendable {
    public var products: [Product]
    public var warnings: [String]

    public init(products: [Product], warnings: [String] = []) {
        self.products = products
        self.warnings = warnings
    }
}

extension Archive {
    public func listing(for entry: DatasetEntry) async throws(ArchiveError) -> ArchiveListing {
        ArchiveListing(products: try await products(for: entry))
    }
}

/// Why an archive could not be queried; `lock` exits 6 and leaves the lockfile alone.
public enum ArchiveError: Error, Sendable, Hashable {
    /// The archive could not be reached at all.
    case unreachable(url: String, reason: String)
    /// The archive answered with an HTTP error status.
    case httpStatus(url: String, status: Int)
    /// The archive refused the request (HTTP 401 or 403): no token, or one it does not accept;
    /// `advice` is the archive's own sentence naming its variables.
    case notAuthorised(url: String, status: Int, advice: String)
    /// The archive's answer was not in the documented format.
    case malformedAnswer(url: String, reason: String)
    /// The archive does not know a dataset the spec names.
    case unknownDataset(archive: String, dataset: String)
    /// The entry asks for something this archive cannot do (such as `adql:` on an index).
    case unsupportedRequest(archive: String, reason: String)
    /// A local catalog file could not be read.
    case unreadable(path: String, reason: String)
    /// The archive stopped its answer at a row limit (TAP OVERFLOW): a lock never records part
    /// of a selection.
    case truncated(archive: String, rows: Int)

    /// One plain sentence for the user.
    public var message: String {
        switch self {
        case .unreachable(let url, let reason): return "could not reach \(url): \(reason)"
        case .httpStatus(let url, let status): return "\(url) answered HTTP \(status)"
        case .notAuthorised(let url, let status, let advice): return "\(url) answered HTTP \(status): \(advice)"
        case .malformedAnswer(let url, let reason): return "the answer from \(url) is not what the archive documents: \(reason)"
        case .unknownDataset(let archive, let dataset): return "archive '\(archive)' has no dataset '\(dataset)'"
        case .unsupportedRequest(let archive, let reason): return "archive '\(archive)' cannot do this: \(reason)"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .truncated(let archive, let rows): return "archive '\(archive)' truncated the answer at \(rows) rows (OVERFLOW); narrow the query"
        }
    }
}
