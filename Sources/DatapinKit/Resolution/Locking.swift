import DatapinArchives
import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// Which locked datasets `lock --update` refreshes from upstream.
public enum UpdateScope: Sendable, Hashable {
    /// Keep every still-selected file's locked URL, size and checksums as they are.
    case none
    /// Take every file's metadata from the archives' current answers.
    case all
    /// Refresh only these datasets (by name).
    case datasets(Set<String>)

    /// The scope of `--update DATASET…`: none without the flag, all when no dataset is named.
    public init(update: Bool, datasets: [String]) {
        self = !update ? .none : datasets.isEmpty ? .all : .datasets(Set(datasets))
    }

    func includes(_ dataset: String) -> Bool {
        switch self {
        case .none: return false
        case .all: return true
        case .datasets(let names): return names.contains(dataset)
        }
    }
}

/// Why resolving a spec into a lock stopped; nothing was written.
public enum LockingError: Error, Sendable {
    /// The spec, an archive's listing or the layout is wrong (exit 2).
    case invalid([Diagnostic])
    /// An archive could not be queried (exit 6).
    case archiveUnavailable([Diagnostic])
    /// An archive refused to list datasets with the credentials given, or without any (exit 5).
    case credentialsRefused([Diagnostic])

    public var diagnostics: [Diagnostic] {
        switch self {
        case .invalid(let diagnostics), .archiveUnavailable(let diagnostics), .credentialsRefused(let diagnostics): return diagnostics
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .invalid: return .badInput
        case .archiveUnavailable: return .archiveUnavailable
        case .credentialsRefused: return .credentials
        }
    }
}

/// What resolving the spec produced: the new lock, how it differs from the old one, and warnings.
public struct LockResolution: Sendable {
    public var lock: Lockfile
    public var diff: LockDiff
    public var warnings: [Diagnostic]
    /// Files whose locked size or checksum no longer matches the archive's answer, kept as
    /// locked because `--update` did not name their dataset.
    public var upstreamChanges: [String]
}

/// How far listing has got: `listed` of `total` dataset entries have their archive's answer.
public struct ListingProgress: Sendable, Hashable {
    public var listed: Int
    public var total: Int
}

/// Resolves a spec against its archives into a lockfile: Spec → Archive → Selection → Lock.
/// `lock` writes the result, `plan` only shows its diff. Every entry is asked at once; the
/// run's one `HTTPClient` keeps at most `jobs` requests open to any one host, and answers are
/// gathered by entry, so the lock is the same whatever order they arrive in.
public struct Locker: Sendable {
    public typealias MakeArchive = @Sendable (ArchiveConfig, URL, HTTPClient) throws(ArchiveFactory.Failure) -> any Archive

    public var loaded: LoadedSpec
    public var specDirectory: URL
    /// Requests open at once to one host (`--jobs`).
    public var jobs: Int
    public var makeArchive: MakeArchive

    public init(loaded: LoadedSpec, specDirectory: URL, jobs: Int = HostLimiter.defaultLimit, makeArchive: @escaping MakeArchive = { config, directory, client throws(ArchiveFactory.Failure) in try ArchiveFactory.make(config, specDirectory: directory, client: client) }) {
        self.loaded = loaded
        self.specDirectory = specDirectory
        self.jobs = max(1, jobs)
        self.makeArchive = makeArchive
    }

    /// Asks every archive the spec uses, selects, lays out and merges with `previous`;
    /// `progress` hears after each entry's answer. `distrustedPins` are the paths of `previous`
    /// whose bytes the last sync found the archive no longer serves (`UpstreamMismatches`): a
    /// refresh drops their pins even when the archive still gives the same size and date.
    public func resolve(previous: Lockfile?, update: UpdateScope, distrustedPins: Set<String> = [], progress: (@Sendable (ListingProgress) -> Void)? = nil) async throws(LockingError) -> LockResolution {
        let spec = loaded.spec
        let listed = try await listings(spec, progress: progress)
        let groups = listed.groups
        let entries: [LockEntry]
        do {
            entries = try SelectionAssembler.assemble(groups, spec: spec, source: loaded.source)
        } catch {
            throw .invalid(error.diagnostics)
        }
        if case .datasets(let names) = update {
            let known = Set(entries.map(\.dataset) + (previous?.files.map(\.dataset) ?? []))
            let unknown = names.subtracting(known).sorted()
            if !unknown.isEmpty {
                let list = unknown.map { "'\($0)'" }.joined(separator: ", ")
                throw .invalid([Diagnostic(.error, "lock --update names \(list), which the spec does not select; datasets are named as in `datapin ls`")])
            }
        }
        var upstreamChanges: [String] = []
        // A file is the same file by its archive and URI, wherever the layout puts it: a layout
        // or destination change keeps every pin.
        let previousByFile = Dictionary((previous?.files ?? []).map { ("\($0.archive)\u{0}\($0.uri)", $0) }, uniquingKeysWith: { first, _ in first })
        let merged = entries.map { entry in
            Self.merge(entry, previous: previousByFile["\(entry.archive)\u{0}\(entry.uri)"], refresh: update.includes(entry.dataset), distrustedPins: distrustedPins, upstreamChanges: &upstreamChanges)
        }
        let lock = Lockfile(specDigest: spec.meaningDigest, files: merged)
        var warnings = loaded.warnings + listed.warnings
        warnings += lock.uncomputableChecksumWarnings
        if !upstreamChanges.isEmpty {
            let count = upstreamChanges.count
            warnings.append(Diagnostic(.warning, "\(count) locked file\(count == 1 ? "" : "s") changed upstream since \(count == 1 ? "it was" : "they were") locked and \(count == 1 ? "keeps its" : "keep their") locked size and checksums; `datapin lock --update` takes the new versions", notes: upstreamChanges.prefix(5).map { "changed upstream: \($0)" }))
        }
        return LockResolution(lock: lock, diff: LockDiff(old: previous, new: lock), warnings: warnings, upstreamChanges: upstreamChanges)
    }

    /// The archives' answers for a spec: one adapter per archive the entries use, and every
    /// entry's unfiltered products in spec order.
    package struct Listings: Sendable {
        var adapters: [String: any Archive]
        var groups: [(entry: DatasetEntry, products: [Product])]
        /// The adapters' warnings about their listings, in spec order.
        var warnings: [Diagnostic] = []
    }

    /// Every entry's unfiltered products, in spec order; all archive failures are collected,
    /// in spec order too. Adapters are made on a thread of their own (an adapter may read
    /// its catalog then), one per archive; then every entry is listed concurrently.
    package func listings(_ spec: Spec, progress: (@Sendable (ListingProgress) -> Void)?) async throws(LockingError) -> Listings {
        let client = HTTPClient(limiter: HostLimiter(limit: jobs))
        var adapters: [String: Result<any Archive, ArchiveFactory.Failure>] = [:]
        for entry in spec.datasets {
            guard let config = spec.archive(named: entry.archive), adapters[config.name] == nil else { continue }
            let make = makeArchive, directory = specDirectory
            adapters[config.name] = await OwnThread.run { () -> Result<any Archive, ArchiveFactory.Failure> in
                do throws(ArchiveFactory.Failure) {
                    return .success(try make(config, directory, client))
                } catch {
                    return .failure(error)
                }
            }
        }
        let listings = await withTaskGroup(of: (Int, Result<ArchiveListing, ArchiveError>).self) { group in
            var total = 0
            for (position, entry) in spec.datasets.enumerated() {
                guard let config = spec.archive(named: entry.archive), case .success(let adapter) = adapters[config.name] else { continue }
                total += 1
                group.addTask {
                    (position, await Result.of { () async throws(ArchiveError) in try await adapter.listing(for: entry) })
                }
            }
            var results: [Int: Result<ArchiveListing, ArchiveError>] = [:]
            for await (position, result) in group {
                results[position] = result
                progress?(ListingProgress(listed: results.count, total: total))
            }
            return results
        }
        var invalid: [Diagnostic] = []
        var unavailable: [Diagnostic] = []
        var refused: [Diagnostic] = []
        var groups: [(entry: DatasetEntry, products: [Product])] = []
        var warnings: [Diagnostic] = []
        for (position, entry) in spec.datasets.enumerated() {
            let at = entry.archiveLocation ?? entry.location
            guard let config = spec.archive(named: entry.archive) else {
                invalid.append(diagnostic("unknown archive '\(entry.archive)'", at: at))
                continue
            }
            if case .failure(let error) = adapters[config.name] {
                switch error {
                case .archive(let archiveError) where Self.isUnavailable(archiveError):
                    unavailable.append(diagnostic(error.message, at: config.location ?? at))
                default:
                    invalid.append(diagnostic(error.message, at: config.location ?? at))
                }
                continue
            }
            guard let listing = listings[position] else { continue }
            do {
                let answer = try listing.get()
                groups.append((entry, answer.products))
                warnings += answer.warnings.map { diagnostic("datasets[\(entry.index)]: \($0)", at: entry.location, severity: .warning) }
            } catch {
                let message = "datasets[\(entry.index)]: \(error.message)"
                if case .notAuthorised = error {
                    refused.append(diagnostic(message, at: entry.location))
                } else if Self.isUnavailable(error) {
                    unavailable.append(diagnostic(message, at: entry.location))
                } else {
                    invalid.append(diagnostic(message, at: entry.location))
                }
            }
        }
        if !invalid.isEmpty { throw .invalid(invalid + refused + unavailable) }
        if !refused.isEmpty { throw .credentialsRefused(refused + unavailable) }
        if !unavailable.isEmpty { throw .archiveUnavailable(unavailable) }
        return Listings(adapters: adapters.compactMapValues { try? $0.get() }, groups: groups, warnings: warnings)
    }

    private func diagnostic(_ message: String, at location: SourceLocation?, severity: Diagnostic.Severity = .error) -> Diagnostic {
        guard let location else { return Diagnostic(severity, message) }
        return loaded.source.diagnostic(severity, message, at: location)
    }

    /// Archive failures that mean "could not ask" (exit 6) rather than "asked for something wrong" (exit 2).
    private static func isUnavailable(_ error: ArchiveError) -> Bool {
        switch error {
        case .unreachable, .httpStatus, .notAuthorised, .malformedAnswer, .unreadable, .truncated: return true
        case .unknownDataset, .unsupportedRequest: return false
        }
    }

    /// A freshly resolved entry merged with what the previous lock said about the same file.
    /// Without refresh, a file that is still the same file (same URI) keeps its locked URL, size,
    /// checksums and calibration association, so re-locking is stable even when upstream moved.
    /// With refresh, the archive's answer wins and a pinned size or SHA-256 survives only when
    /// the archive's size and checksum are unchanged and the last sync did not find other bytes
    /// served for the file (`distrustedPins`, by the previous lock's path). A changed
    /// modification date or association alone is an upstream change too, and is kept as locked.
    static func merge(_ entry: LockEntry, previous: LockEntry?, refresh: Bool, distrustedPins: Set<String> = [], upstreamChanges: inout [String]) -> LockEntry {
        guard let previous, previous.uri == entry.uri, previous.archive == entry.archive else { return entry }
        var merged = entry
        let sameBytes = (entry.size == nil || entry.size == previous.size)
            && (entry.checksum == nil || entry.checksum == previous.checksum)
            && (entry.sha256 == nil || entry.sha256 == previous.sha256)
        if refresh {
            if sameBytes, !distrustedPins.contains(previous.path) {
                if merged.sha256 == nil { merged.sha256 = previous.sha256 }
                if merged.size == nil { merged.size = previous.size }
            }
            return merged
        }
        if !sameBytes || entry.url != previous.url || (entry.modified != nil && entry.modified != previous.modified)
            || (previous.association != nil && entry.association != previous.association) { upstreamChanges.append(entry.path) }
        merged.association = previous.association ?? entry.association
        merged.url = previous.url
        merged.modified = previous.modified
        merged.size = previous.size
        merged.sha256 = previous.sha256
        merged.checksum = previous.checksum
        return merged
    }
}
