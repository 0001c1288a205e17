import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinTransfer
import Foundation

/// The static-index archive: a catalog file (JSON catalog, `SHA256SUMS` or pooch registry) on
/// disk or on a web server. It works offline and suits a lab's own server.
///
/// A file's identity is its resolved absolute URL, so two datasets listing the same URL share
/// one file. When the spec gives the catalog as a relative path, the URLs it writes into the
/// lock stay relative to the spec's folder, so a committed lock works in every clone.
public struct IndexArchive: Archive {
    public let name: String
    private let catalog: IndexCatalog
    private let base: CatalogBase

    /// Loads and parses the catalog at `location`: a path (relative to `baseDirectory`, the
    /// spec's folder), a `file://` or an `http(s)://` URL.
    public init(name: String, location: String, baseDirectory: URL, client: HTTPClient = HTTPClient()) throws(ArchiveError) {
        self.name = name
        let base = CatalogBase(location: location, baseDirectory: baseDirectory)
        self.base = base
        let data: Data
        switch base {
        case .localPath(let path, _):
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw .unreadable(path: path, reason: Self.reason(error))
            }
        case .url(let url):
            let response: HTTPResponse
            do {
                response = try client.send(HTTPRequest(url: url))
            } catch {
                if case .answerTooLarge(let shownURL, let reason) = error { throw .malformedAnswer(url: shownURL, reason: reason) }
                throw .unreachable(url: HTTPClient.redactingUserInfo(url), reason: error.message)
            }
            guard response.isSuccess || (url.hasPrefix("file:") && response.status == 0) else {
                throw .httpStatus(url: HTTPClient.redactingUserInfo(url), status: response.status)
            }
            data = response.body
        }
        do {
            self.catalog = try IndexCatalog.parse(data, stem: base.stem)
        } catch {
            throw .malformedAnswer(url: base.shownLocation, reason: error.reason)
        }
        // An empty answer is a server fault far more often than an archive that lost every
        // file; taking it as such would empty the lock, and a later `sync --prune` the data.
        guard catalog.datasets.contains(where: { !$0.files.isEmpty }) else {
            throw .malformedAnswer(url: base.shownLocation, reason: "the catalog is empty (it lists no files), which datapin takes for a fault of the server rather than for every file removed")
        }
    }

    /// The catalog was read when the archive was made, so listing asks nothing more.
    public func products(for entry: DatasetEntry) async throws(ArchiveError) -> [Product] {
        if entry.mission != nil { throw .unsupportedRequest(archive: name, reason: "an index has no missions; remove 'mission:'") }
        if !entry.whereConditions.isEmpty { throw .unsupportedRequest(archive: name, reason: "an index cannot be searched; list dataset ids with 'ids:' instead of 'where:'") }
        if !entry.obsids.isEmpty { throw .unsupportedRequest(archive: name, reason: "an index has no observations; it takes 'ids:'") }
        if entry.adql != nil { throw .unsupportedRequest(archive: name, reason: "'adql:' is for ESO; an index takes 'ids:'") }
        if !entry.pids.isEmpty { throw .unsupportedRequest(archive: name, reason: "'pids:' is for SciCat; an index takes 'ids:'") }
        if entry.calibrations != nil { throw .unsupportedRequest(archive: name, reason: "'calibrations:' is for ESO; an index has no calibration association") }

        let datasets: [IndexCatalog.Dataset]
        if entry.ids.isEmpty {
            datasets = catalog.datasets
        } else {
            var chosen: [IndexCatalog.Dataset] = []
            for id in entry.ids {
                guard let dataset = catalog.datasets.first(where: { $0.id == id }) else {
                    throw .unknownDataset(archive: name, dataset: id)
                }
                chosen.append(dataset)
            }
            datasets = chosen
        }
        var products: [Product] = []
        products.reserveCapacity(datasets.reduce(0) { $0 + $1.files.count })
        let resolver = CatalogBase.Resolver(base)
        for dataset in datasets {
            for file in dataset.files {
                products.append(try product(file, in: dataset, resolver: resolver))
            }
        }
        return products
    }

    /// A catalog may give size, SHA-256, another checksum and a modification date; the URL and
    /// access are the catalog's too.
    public func upstreamChanges(of locked: LockEntry, listed: Product?) -> [UpstreamChange] {
        UpstreamChange.differences(locked, listed, comparing: [.size, .sha256, .checksum, .modified, .url, .access])
    }

    private func product(_ file: IndexCatalog.File, in dataset: IndexCatalog.Dataset, resolver: CatalogBase.Resolver) throws(ArchiveError) -> Product {
        let written = file.url ?? file.name
        guard let resolved = resolver.resolve(written) else {
            throw .malformedAnswer(url: base.shownLocation, reason: "the URL '\(written)' of '\(dataset.id)/\(file.name)' is not a valid URL")
        }
        if base.isRemote, !CatalogBase.isRemote(resolved.absolute) {
            throw .malformedAnswer(url: base.shownLocation, reason: "'\(dataset.id)/\(file.name)' points at \(HTTPClient.redactingUserInfo(resolved.absolute)); a catalog served over http(s) may list only http(s) URLs, since only a local catalog may name local files")
        }
        let filename = file.name.split(separator: "/").last.map(String.init) ?? file.name
        return Product(
            archive: name,
            dataset: dataset.id,
            filename: file.name,
            uri: "index:\(name)/\(dataset.id)/\(file.name)",
            url: resolved.lockURL,
            identity: resolved.absolute,
            size: file.size,
            sha256: file.sha256,
            checksum: file.checksum,
            modified: file.modified,
            level: file.level,
            suffix: file.suffix,
            type: file.type,
            access: file.access,
            recommended: file.recommended,
            guidestar: file.guidestar ?? filename.contains("_gs-"),
            instrument: file.instrument,
            filters: file.filters)
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue)).lowercased()
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return nsError.localizedDescription
    }
}

/// Where a catalog lives, and how the URLs it lists are resolved against it.
enum CatalogBase: Sendable {
    /// A catalog on disk: its absolute path, and its folder as the spec wrote it when the spec
    /// gave a relative path (nil for absolute paths).
    case localPath(String, relativeFolder: String?)
    /// A catalog at a `file://` or `http(s)://` URL.
    case url(String)

    init(location: String, baseDirectory: URL) {
        let lowered = location.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered.hasPrefix("file://") {
            self = .url(location)
        } else if location.hasPrefix("/") {
            self = .localPath(URL(fileURLWithPath: location).standardized.path, relativeFolder: nil)
        } else {
            let absolute = baseDirectory.appendingPathComponent(location).standardized.path
            var folder = (location as NSString).deletingLastPathComponent
            while folder.hasPrefix("./") { folder.removeFirst(2) }
            if folder == "." { folder = "" }
            self = .localPath(absolute, relativeFolder: folder)
        }
    }

    /// The catalog's name without folder or extension: the dataset of top-level files in a checksum list.
    var stem: String {
        let path: String
        switch self {
        case .localPath(let absolute, _): path = absolute
        case .url(let url): path = URL(string: url)?.path ?? url
        }
        let name = (path as NSString).lastPathComponent
        let stem = (name as NSString).deletingPathExtension
        return stem.isEmpty ? "index" : stem
    }

    /// Whether the catalog was fetched over HTTP(S): then every file it lists must be too.
    var isRemote: Bool {
        guard case .url(let url) = self else { return false }
        return Self.isRemote(url)
    }

    /// Whether `url` is an `http://` or `https://` URL.
    static func isRemote(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
    }

    /// The catalog's location for messages, without any user:password.
    var shownLocation: String {
        switch self {
        case .localPath(let path, _): return path
        case .url(let url): return HTTPClient.redactingUserInfo(url)
        }
    }

    /// A file URL resolved two ways: `absolute`, the identity; `lockURL`, what the lock records.
    struct Resolved {
        var absolute: String
        var lockURL: String
    }

    /// Resolves a catalog's `url` (relative to the catalog, or absolute) per RFC 3986.
    func resolve(_ written: String) -> Resolved? {
        if let absolute = URL(string: written), absolute.scheme != nil {
            return Resolved(absolute: absolute.absoluteString, lockURL: absolute.absoluteString)
        }
        switch self {
        case .url(let catalogURL):
            guard let base = URL(string: catalogURL), let reference = Self.reference(written),
                  let resolved = URL(string: reference, relativeTo: base)?.absoluteURL else { return nil }
            return Resolved(absolute: resolved.absoluteString, lockURL: resolved.absoluteString)
        case .localPath(let catalogPath, let relativeFolder):
            let folder = (catalogPath as NSString).deletingLastPathComponent
            let decoded = written.removingPercentEncoding ?? written
            let absolutePath = decoded.hasPrefix("/") ? decoded : URL(fileURLWithPath: folder).appendingPathComponent(decoded).standardized.path
            let absolute = URL(fileURLWithPath: absolutePath).absoluteString
            guard let relativeFolder, !decoded.hasPrefix("/") else { return Resolved(absolute: absolute, lockURL: absolute) }
            let joined = relativeFolder.isEmpty ? decoded : relativeFolder + "/" + decoded
            return Resolved(absolute: absolute, lockURL: Self.normalise(relativePath: joined))
        }
    }

    /// `resolve` for every file of one listing: a reference made only of unreserved characters
    /// and `/` (not starting with `/`, without `.` or `..` segments) resolves, by RFC 3986, to the
    /// base's folder followed by the reference, so that folder is worked out once (by `resolve`
    /// itself, from the reference `x`) and such references are appended to it; any other goes
    /// through `resolve`.
    struct Resolver {
        let base: CatalogBase
        /// What `resolve` gives for `x`, without the `x`; nil when it is not that simple.
        private let folder: Resolved?

        init(_ base: CatalogBase) {
            self.base = base
            if case .url = base, let probe = base.resolve("x"), probe.absolute == probe.lockURL, probe.absolute.hasSuffix("/x") {
                let prefix = String(probe.absolute.dropLast())
                folder = Resolved(absolute: prefix, lockURL: prefix)
            } else {
                folder = nil
            }
        }

        func resolve(_ written: String) -> Resolved? {
            guard let folder, Self.isPlainRelative(written) else { return base.resolve(written) }
            return Resolved(absolute: folder.absolute + written, lockURL: folder.lockURL + written)
        }

        /// Unreserved characters (RFC 3986) and `/`, not starting with `/`, no empty, `.` or `..` segment.
        static func isPlainRelative(_ written: String) -> Bool {
            var segmentLength = 0
            var dots = 0
            for byte in written.utf8 {
                switch byte {
                case UInt8(ascii: "/"):
                    if segmentLength == 0 || segmentLength == dots { return false }
                    segmentLength = 0
                    dots = 0
                    continue
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                    break
                case UInt8(ascii: "."):
                    dots += 1
                default:
                    return false
                }
                segmentLength += 1
            }
            return segmentLength > 0 && segmentLength != dots
        }
    }

    /// A relative reference as a URL accepts it: spaces and other unsafe characters percent-encoded.
    private static func reference(_ written: String) -> String? {
        if URL(string: written) != nil { return written }
        return written.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)
    }

    /// Removes `.` segments and folds `x/..` pairs, keeping leading `..` (a catalog beside the spec's folder).
    private static func normalise(relativePath: String) -> String {
        var parts: [Substring] = []
        for part in relativePath.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }
}
