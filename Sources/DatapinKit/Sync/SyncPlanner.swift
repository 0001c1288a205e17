import DatapinLock
import DatapinSpec
import DatapinSupport
import Foundation

/// One thing a sync does to make a locked path in the tree match the lock.
public enum SyncAction: Sendable, Hashable {
    /// The file already holds the locked bytes.
    case keep(LockEntry)
    /// The file is missing: download it from scratch (discarding any partial download, which is
    /// empty or longer than the locked size).
    case download(LockEntry)
    /// The file is missing and `partialBytes` of it are in the entry's partial file: continue with a
    /// Range request, or, when the partial holds every locked byte, verify and place it without one.
    case resume(LockEntry, partialBytes: Int64)
    /// The local file has another size or content ("size 10 B, locked 12 B" / "content differs from the pinned sha256").
    case replace(LockEntry, reason: String)
    /// The file is missing, but the file at `from`, which the lock no longer lists there, holds
    /// its pinned bytes as the state cache vouches (the last sync placed it before a layout or
    /// destination change): rename it into place instead of downloading it.
    case move(LockEntry, from: String)
    /// Put a hard link (`.link`) or a copy (`.copy`) of the entry's file at one of its `alsoPaths`,
    /// after the entry's own file is in place.
    case place(LockEntry, at: String, mode: DuplicatePolicy)
    /// Remove a file (or symlink, never its target) under destination that the lock does not list.
    case prune(path: String, size: Int64)
}

/// Everything a sync would do, in order: for each lock entry its own action then its placements,
/// then the prunes (sorted).
public struct SyncPlan: Sendable {
    /// How many actions of each kind the plan has.
    public struct Counts: Sendable, Hashable {
        public var keep = 0
        public var download = 0
        public var resume = 0
        public var replace = 0
        public var move = 0
        public var place = 0
        public var prune = 0

        public init() {}
    }

    public var actions: [SyncAction]
    /// Bytes to fetch: sizes of downloads and replacements, plus what remains of resumed files
    /// (entries of unknown size count 0).
    public var bytesToTransfer: Int64
    public var counts: Counts
    /// Entries to download, resume or replace without a sha256 or size pin: the ones this sync pins
    /// from the bytes it verifies. (`--frozen` refuses every unpinned entry of the lock, whether
    /// it is transferred or kept.)
    public var unpinnedTransfers: [LockEntry]
    /// Entries kept as they are (in place at the locked size) without a sha256 or size pin yet; a sync
    /// pins those whose bytes the state cache vouches for (`PinJournal.recordKept`).
    public var unpinnedKeeps: [LockEntry]
    /// Files under destination that the lock does not list, sorted; empty when pruning (they are prune actions then).
    public var extras: [String]

    /// Entries to download, resume or replace: the files this sync fetches, in plan order.
    public var transfers: [LockEntry] {
        actions.compactMap { action in
            switch action {
            case .download(let entry), .resume(let entry, _), .replace(let entry, _): return entry
            case .keep, .move, .place, .prune: return nil
            }
        }
    }

    /// True when the plan changes nothing in the tree.
    public var isNoOp: Bool {
        counts.download + counts.resume + counts.replace + counts.move + counts.place + counts.prune == 0
    }

    public init(actions: [SyncAction], extras: [String]) {
        self.actions = actions
        self.extras = extras
        var counts = Counts()
        var bytes: Int64 = 0
        var unpinned: [LockEntry] = []
        var unpinnedKeeps: [LockEntry] = []
        for action in actions {
            switch action {
            case .keep(let entry):
                counts.keep += 1
                if entry.needsPin { unpinnedKeeps.append(entry) }
            case .download(let entry):
                counts.download += 1
                bytes += entry.size ?? 0
                if entry.needsPin { unpinned.append(entry) }
            case .resume(let entry, let partialBytes):
                counts.resume += 1
                bytes += max(0, (entry.size ?? partialBytes) - partialBytes)
                if entry.needsPin { unpinned.append(entry) }
            case .replace(let entry, _):
                counts.replace += 1
                bytes += entry.size ?? 0
                if entry.needsPin { unpinned.append(entry) }
            case .move: counts.move += 1
            case .place: counts.place += 1
            case .prune: counts.prune += 1
            }
        }
        self.counts = counts
        self.bytesToTransfer = bytes
        self.unpinnedTransfers = unpinned
        self.unpinnedKeeps = unpinnedKeeps
    }
}

/// Why a sync cannot be planned; nothing has been changed.
public enum SyncPlanningError: Error, Sendable, Hashable {
    /// A symlink or a file of the wrong kind at a locked path or on the way to it (relative to destination).
    case unsafePath(path: String, reason: String)
    /// A local file whose content had to be checked could not be read.
    case unreadable(path: String, reason: String)

    public var message: String {
        switch self {
        case .unsafePath(let path, let reason):
            return "\(PathSafety.escaped(path)) in the destination \(reason); move it out of the way and sync again"
        case .unreadable(let path, let reason):
            return "could not read \(PathSafety.escaped(path)) in the destination to check its content: \(reason)"
        }
    }
}

/// Decides what to do with the local tree so that it matches the lock: compares every locked path
/// with the file there (trusting the state cache for unchanged files, hashing the others) and,
/// when pruning, lists the files the lock does not name. Changes nothing but the cache's memory.
public struct SyncPlanner {
    public var lock: Lockfile
    public var tree: SyncTree
    public var cache: StateCache
    /// How `alsoPaths` are placed: `.copy` copies, anything else hard-links (the spec's `duplicates`).
    public var duplicates: DuplicatePolicy
    /// Plan only this shard's entries; the files of the others are neither extras nor moved.
    public var shard: Shard?

    public init(lock: Lockfile, tree: SyncTree, cache: StateCache, duplicates: DuplicatePolicy = .link, shard: Shard? = nil) {
        self.lock = lock
        self.tree = tree
        self.cache = cache
        self.duplicates = duplicates
        self.shard = shard
    }

    /// The plan; with `prune`, files under destination that the lock does not list become prune
    /// actions, otherwise they are listed as `extras`. Blocking (file I/O, hashing on worker
    /// threads): call it from the main thread, never from Swift concurrency's pool.
    public func plan(prune: Bool) throws(SyncPlanningError) -> SyncPlan {
        let survey = TreeSurvey(tree: tree, cache: cache, duplicates: duplicates)
        if case .unsafe(let path, let reason)? = survey.partialDirectoryProblem {
            throw .unsafePath(path: path, reason: reason)
        }
        let entries = shard?.entries(of: lock) ?? lock.files
        let results: [TreeSurvey.EntryResult]
        switch survey.survey(entries, stopAtUnsafe: true) {
        case .failure(let finding): throw .unsafePath(path: finding.path, reason: finding.reason)
        case .success(let found): results = found
        }
        let placementMode: DuplicatePolicy = duplicates == .copy ? .copy : .link
        var actions: [SyncAction] = []
        actions.reserveCapacity(results.count)
        for (entry, result) in zip(entries, results) {
            switch result.primary {
            case .intact:
                actions.append(.keep(entry))
            case .missing:
                if let partial = result.partialBytes, partial > 0, partial <= entry.size ?? Int64.max {
                    actions.append(.resume(entry, partialBytes: partial))
                } else {
                    actions.append(.download(entry))
                }
            case .differs(let reason):
                actions.append(.replace(entry, reason: reason))
            case .unsafe(let path, let reason):
                throw .unsafePath(path: path, reason: reason)
            case .unreadable(let path, let reason):
                throw .unreadable(path: path, reason: reason)
            }
            for placement in result.placements {
                switch placement.verdict {
                case .intact: break
                case .missing, .differs: actions.append(.place(entry, at: placement.path, mode: placementMode))
                case .unsafe(let path, let reason): throw .unsafePath(path: path, reason: reason)
                case .unreadable(let path, let reason): throw .unreadable(path: path, reason: reason)
                }
            }
        }
        var extras = survey.extras(locked: lock.lockedPaths)
        Self.moveInsteadOfDownloading(&actions, extras: &extras, survey: survey)
        if prune {
            actions.append(contentsOf: extras.map { .prune(path: $0, size: survey.size(ofExtra: $0)) })
            return SyncPlan(actions: actions, extras: [])
        }
        return SyncPlan(actions: actions, extras: extras)
    }
}

extension SyncPlanner {
    /// Turns the download of a pinned file into a move of an extra file that holds the same
    /// bytes (same size and SHA-256, as the state cache vouches for its unchanged stat), and
    /// takes that file off the extras: after a layout change the tree is rearranged, not fetched
    /// again, and the old places are not left behind. Each extra serves one entry.
    static func moveInsteadOfDownloading(_ actions: inout [SyncAction], extras: inout [String], survey: TreeSurvey) {
        var bySHA256: [String: [String]] = [:]
        for extra in extras {
            if let sha256 = survey.trustedDigest(ofExtra: extra) { bySHA256[sha256, default: []].append(extra) }
        }
        guard !bySHA256.isEmpty else { return }
        var moved: Set<String> = []
        for index in actions.indices {
            guard case .download(let entry) = actions[index], let sha256 = entry.sha256,
                  var candidates = bySHA256[sha256], !candidates.isEmpty else { continue }
            let from = candidates.removeFirst()
            bySHA256[sha256] = candidates
            guard entry.size == nil || survey.size(ofExtra: from) == entry.size else { continue }
            actions[index] = .move(entry, from: from)
            moved.insert(from)
        }
        extras.removeAll { moved.contains($0) }
    }
}

extension Lockfile {
    /// Every path the lock places a file at: entries' paths and their `alsoPaths`.
    var lockedPaths: Set<String> {
        var paths = Set<String>(minimumCapacity: files.count)
        for entry in files {
            paths.insert(entry.path)
            for alsoPath in entry.alsoPaths { paths.insert(alsoPath) }
        }
        return paths
    }
}

/// What the local tree holds for every locked path, compared with the lock; the common ground of
/// the planner and `status`. Reads only file status (lstat) for files the cache trusts and hashes
/// the others on a few threads. Never follows a symlink inside the destination.
final class TreeSurvey {
    /// How one path in the tree compares with what the lock wants there.
    enum Verdict: Equatable {
        /// Holds the locked bytes (or, unpinned, the locked size).
        case intact
        case missing
        /// Holds other bytes; the reason is one plain phrase ("size 10 B, locked 12 B").
        case differs(String)
        /// `path` (the file, a folder on the way, or its partial download) is a symlink or of the wrong kind.
        case unsafe(path: String, reason: String)
        case unreadable(path: String, reason: String)
    }

    /// The verdicts for one lock entry.
    struct EntryResult {
        var primary: Verdict
        /// Size of a regular partial download of the entry, when the final path is missing.
        var partialBytes: Int64?
        var placements: [(path: String, verdict: Verdict)]
    }

    /// An unsafe path found while surveying.
    struct UnsafeFinding: Error {
        var path: String
        var reason: String
    }

    private enum DigestSource {
        case known(SHA256Value)
        case job(Int)
    }

    /// A verdict that waits for file digests.
    private enum Pending {
        /// The file must hash to `expected`; recorded in the cache when it does.
        case expect(DigestSource, expected: SHA256Value, path: String)
        /// An unpinned copy must hold the same bytes as its owner.
        case sameAs(DigestSource, owner: DigestSource)
        /// A hard link must share the owner's inode, and the owner must be intact.
        case linked(to: FileStat, stat: FileStat, owner: String)
    }

    /// Which verdict a pending one fills in: an entry's own (`placement` nil) or one of its placements.
    private struct Deferred {
        var entry: Int
        var placement: Int?
        var pending: Pending
    }

    private enum ParentOutcome {
        case present
        case absent
        case unsafe(path: String, reason: String)
    }

    let tree: SyncTree
    let cache: StateCache
    let duplicates: DuplicatePolicy
    /// The destination, open (or -1 when it cannot be opened) for as long as the survey lives.
    let destinationDescriptor: Int32
    private let destinationPath: String
    private var knownDirectories: Set<String> = []
    private var lastParent: String?
    private var lastParentOutcome: ParentOutcome = .present
    /// An open descriptor of `lastParent` when it is present (the destination's own for top-level files).
    private var lastParentDescriptor: Int32 = -1
    /// Names in the partial folder, and whether each is a regular file.
    private var partialNames: [String: Bool] = [:]
    /// A problem with the partial folder itself (a symlink, or a file where it should be).
    private(set) var partialDirectoryProblem: Verdict?
    /// For each folder (relative, "" for the top), how many entries' own paths in it exist as non-folders:
    /// a folder whose listing has exactly that many non-folders holds no extra, without building names.
    private var lockedNonFolderCounts: [String: Int] = [:]
    /// Folders where the listing must be checked name by name (they hold `alsoPaths`).
    private var foldersToCheckByName: Set<String> = []

    init(tree: SyncTree, cache: StateCache, duplicates: DuplicatePolicy) {
        self.tree = tree
        self.cache = cache
        self.duplicates = duplicates
        self.destinationPath = tree.destination.path
        self.destinationDescriptor = open(tree.destination.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        readPartialDirectory()
    }

    /// A digest job for a path relative to the destination, opened through `destinationDescriptor`
    /// while the survey lives.
    func job(for relativePath: String, algorithms: [DigestAlgorithm]) -> LocalFileDigests.Job {
        guard destinationDescriptor >= 0 else { return LocalFileDigests.Job(path: destinationPath + "/" + relativePath, algorithms: algorithms) }
        return LocalFileDigests.Job(path: relativePath, algorithms: algorithms, directory: destinationDescriptor)
    }

    deinit {
        if lastParentDescriptor >= 0 && lastParentDescriptor != destinationDescriptor { close(lastParentDescriptor) }
        if destinationDescriptor >= 0 { close(destinationDescriptor) }
    }

    // MARK: - Survey

    /// The verdict on every entry of `entries`, in order. With `stopAtUnsafe`, fails as soon as an
    /// unsafe path is seen in the first pass, before any file is hashed.
    func survey(_ entries: [LockEntry], stopAtUnsafe: Bool) -> Result<[EntryResult], UnsafeFinding> {
        var jobs: [LocalFileDigests.Job] = []
        var jobPaths: [String] = []
        var deferred: [Deferred] = []
        var results: [EntryResult] = []
        results.reserveCapacity(entries.count)

        func addJob(_ relativePath: String) -> Int {
            jobs.append(job(for: relativePath, algorithms: [.sha256]))
            jobPaths.append(relativePath)
            return jobs.count - 1
        }

        var previousPath: String?
        for index in entries.indices {
            // Fields are read one by one: copying a whole LockEntry per file costs a dozen retains.
            let path = entries[index].path
            let lockedSize = entries[index].size
            let pinned = entries[index].sha256.flatMap { SHA256Value(hex: $0) }
            var result = EntryResult(primary: .missing, partialBytes: nil, placements: [])
            var ownerStat: FileStat?
            var ownerDigest: DigestSource?
            let isRepeat = previousPath == path
            previousPath = path
            switch observe(path, countTowardsFolder: !isRepeat) {
            case .unsafe(let path, let reason):
                if stopAtUnsafe { return .failure(UnsafeFinding(path: path, reason: reason)) }
                result.primary = .unsafe(path: path, reason: reason)
            case .missing:
                lookUpPartial(for: entries[index], into: &result)
                if stopAtUnsafe, case .unsafe(let path, let reason) = result.primary {
                    return .failure(UnsafeFinding(path: path, reason: reason))
                }
            case .present(let stat):
                if let lockedSize, lockedSize != stat.size {
                    result.primary = .differs(Self.sizeReason(actual: stat.size, locked: lockedSize))
                } else {
                    ownerStat = stat
                    let trusted = cache.trustedValue(for: path, stat: stat)
                    if let pinned {
                        if let trusted {
                            result.primary = trusted == pinned ? .intact : .differs(Self.contentReason)
                        } else {
                            deferred.append(Deferred(entry: index, placement: nil, pending: .expect(.job(addJob(path)), expected: pinned, path: path)))
                        }
                    } else {
                        result.primary = .intact
                        ownerDigest = trusted.map { .known($0) }
                    }
                }
            }
            for (placementIndex, alsoPath) in entries[index].alsoPaths.enumerated() {
                var verdict = Verdict.missing
                var pending: Pending?
                switch observe(alsoPath, countTowardsFolder: false) {
                case .unsafe(let path, let reason):
                    if stopAtUnsafe { return .failure(UnsafeFinding(path: path, reason: reason)) }
                    verdict = .unsafe(path: path, reason: reason)
                case .missing:
                    verdict = .missing
                case .present(let stat):
                    if duplicates != .copy {
                        if let ownerStat {
                            pending = .linked(to: ownerStat, stat: stat, owner: path)
                        } else {
                            verdict = .differs(Self.notLinkedReason(path))
                        }
                    } else if let expectedSize = lockedSize ?? ownerStat?.size, expectedSize != stat.size {
                        verdict = .differs(Self.sizeReason(actual: stat.size, locked: expectedSize))
                    } else if let pinned {
                        if let trusted = cache.trustedValue(for: alsoPath, stat: stat) {
                            verdict = trusted == pinned ? .intact : .differs(Self.contentReason)
                        } else {
                            pending = .expect(.job(addJob(alsoPath)), expected: pinned, path: alsoPath)
                        }
                    } else if ownerStat != nil {
                        let owner = ownerDigest ?? .job(addJob(path))
                        ownerDigest = owner
                        pending = .sameAs(.job(addJob(alsoPath)), owner: owner)
                    } else {
                        verdict = .differs(Self.copyReason(path))
                    }
                }
                if let pending { deferred.append(Deferred(entry: index, placement: placementIndex, pending: pending)) }
                result.placements.append((alsoPath, verdict))
            }
            results.append(result)
        }
        flushFolderCount()

        let digests = LocalFileDigests.digestAll(jobs)
        // Entries' own verdicts first: a link's verdict depends on its owner's.
        for item in deferred where item.placement == nil {
            results[item.entry].primary = resolve(item.pending, ownerIntact: true, digests, jobPaths)
        }
        for item in deferred {
            guard let placement = item.placement else { continue }
            let ownerIntact = results[item.entry].primary == .intact
            results[item.entry].placements[placement].verdict = resolve(item.pending, ownerIntact: ownerIntact, digests, jobPaths)
        }
        return .success(results)
    }

    private func resolve(_ pending: Pending, ownerIntact: Bool, _ digests: [Result<LocalFileDigests.Digested, LocalFileError>], _ jobPaths: [String]) -> Verdict {
        switch pending {
        case .expect(let source, let expected, let path):
            switch digest(source, digests, jobPaths) {
            case .failure(let problem):
                return .unreadable(path: problem.path, reason: problem.reason)
            case .success(let found):
                if found.value == expected {
                    if let stat = found.stat { cache.record(path, stat: stat, sha256: found.value.hex) }
                    return .intact
                }
                cache.forget(path)
                return .differs(Self.contentReason)
            }
        case .sameAs(let source, let owner):
            switch (digest(source, digests, jobPaths), digest(owner, digests, jobPaths)) {
            case (.failure(let problem), _), (_, .failure(let problem)):
                return .unreadable(path: problem.path, reason: problem.reason)
            case (.success(let copy), .success(let original)):
                return copy.value == original.value && ownerIntact ? .intact : .differs(Self.contentReason)
            }
        case .linked(let owner, let stat, let ownerPath):
            return ownerIntact && owner.inode == stat.inode && owner.device == stat.device ? .intact : .differs(Self.notLinkedReason(ownerPath))
        }
    }

    private struct DigestProblem: Error {
        var path: String
        var reason: String
    }

    private func digest(_ source: DigestSource, _ digests: [Result<LocalFileDigests.Digested, LocalFileError>], _ jobPaths: [String]) -> Result<(value: SHA256Value, stat: FileStat?), DigestProblem> {
        switch source {
        case .known(let value):
            return .success((value, nil))
        case .job(let index):
            switch digests[index] {
            case .failure(let error):
                return .failure(DigestProblem(path: jobPaths[index], reason: error.reason))
            case .success(let digested):
                guard let hex = digested.digests[.sha256], let value = SHA256Value(hex: hex) else {
                    return .failure(DigestProblem(path: jobPaths[index], reason: "its digest could not be computed"))
                }
                return .success((value, digested.stat))
            }
        }
    }

    static let contentReason = "content differs from the pinned sha256"

    static func sizeReason(actual: Int64, locked: Int64) -> String {
        var actualText = ByteSize.format(actual)
        var lockedText = ByteSize.format(locked)
        if actualText == lockedText {
            actualText = "\(actual) B"
            lockedText = "\(locked) B"
        }
        return "size \(actualText), locked \(lockedText)"
    }

    static func notLinkedReason(_ owner: String) -> String {
        "not a hard link to \(owner)"
    }

    static func copyReason(_ owner: String) -> String {
        "not a copy of \(owner), which is missing or differs"
    }

    // MARK: - Observing paths

    /// What is at one path relative to the destination.
    enum Observation {
        case missing
        case present(FileStat)
        case unsafe(path: String, reason: String)
    }

    /// lstat of `relativePath`, after checking that the path is a plain relative path and that no
    /// folder on the way is a symlink or a file. With `countTowardsFolder`, a non-folder found
    /// there counts as locked in its folder's listing; otherwise its folder is checked name by name.
    func observe(_ relativePath: String, countTowardsFolder: Bool = false) -> Observation {
        if !Self.isPlainRelativePath(relativePath) {
            return .unsafe(path: relativePath, reason: "is not a safe relative path: " + (PathSafety.problem(with: relativePath) ?? "it names a reserved file"))
        }
        guard destinationDescriptor >= 0 else { return .missing }
        let utf8 = relativePath.utf8
        let lastSlash = utf8.lastIndex(of: UInt8(ascii: "/"))
        switch checkParents(of: relativePath, lastSlash: lastSlash) {
        case .absent: return .missing
        case .unsafe(let path, let reason): return .unsafe(path: path, reason: reason)
        case .present: break
        }
        let nameOffset = lastSlash.map { utf8.distance(from: utf8.startIndex, to: $0) + 1 } ?? 0
        var raw = stat()
        let found = relativePath.withCString { path in
            fstatat(lastParentDescriptor, path + nameOffset, &raw, AT_SYMLINK_NOFOLLOW) == 0
        }
        guard found else { return .missing }
        let stat = FileStat(raw)
        if !stat.isDirectory {
            if countTowardsFolder {
                currentFolderCount += 1
            } else {
                foldersToCheckByName.insert(lastParent ?? "")
            }
        }
        if stat.isRegular { return .present(stat) }
        if stat.isSymlink { return .unsafe(path: relativePath, reason: "is a symbolic link") }
        if stat.isDirectory { return .unsafe(path: relativePath, reason: "is a folder where a file should be") }
        return .unsafe(path: relativePath, reason: "is not a regular file")
    }

    /// Non-folders counted in `lastParent` since it became the current folder.
    private var currentFolderCount = 0

    private func flushFolderCount() {
        if currentFolderCount > 0 {
            lockedNonFolderCounts[lastParent ?? "", default: 0] += currentFolderCount
        }
        currentFolderCount = 0
    }

    private func checkParents(of relativePath: String, lastSlash: String.Index?) -> ParentOutcome {
        let parent = lastSlash.map { relativePath[..<$0] } ?? ""
        if let lastParent, lastParent == parent { return lastParentOutcome }
        flushFolderCount()
        if lastParentDescriptor >= 0 && lastParentDescriptor != destinationDescriptor { close(lastParentDescriptor) }
        lastParentDescriptor = -1
        lastParent = String(parent)
        lastParentOutcome = walkParents(of: relativePath, lastSlash: lastSlash)
        if case .present = lastParentOutcome {
            if parent.isEmpty {
                lastParentDescriptor = destinationDescriptor
            } else {
                lastParentDescriptor = openat(destinationDescriptor, String(parent), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if lastParentDescriptor < 0 { lastParentOutcome = .absent }
            }
        }
        return lastParentOutcome
    }

    private func walkParents(of relativePath: String, lastSlash: String.Index?) -> ParentOutcome {
        guard let lastSlash else { return .present }
        let utf8 = relativePath.utf8
        var index = utf8.startIndex
        while index <= lastSlash {
            if utf8[index] == UInt8(ascii: "/") {
                let folder = String(relativePath[..<index])
                if !knownDirectories.contains(folder) {
                    guard let stat = FileStat(relativePath: folder, in: destinationDescriptor) else { return .absent }
                    if stat.isSymlink { return .unsafe(path: folder, reason: "is a symbolic link; datapin never writes through one") }
                    if !stat.isDirectory { return .unsafe(path: folder, reason: "is a file where a folder should be") }
                    knownDirectories.insert(folder)
                }
            }
            utf8.formIndex(after: &index)
        }
        return .present
    }

    /// True when `path` has no empty, `.` or `..` component, no control character or backslash,
    /// does not start with `/`, and its first component is not one of datapin's reserved names.
    static func isPlainRelativePath(_ path: String) -> Bool {
        var componentLength = 0
        var dots = 0
        var isFirstComponent = true
        var firstComponentStartsWithDot = false
        for byte in path.utf8 {
            if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") { return false }
            if byte == UInt8(ascii: "/") {
                if componentLength == 0 || componentLength == dots && dots <= 2 { return false }
                if isFirstComponent && firstComponentStartsWithDot && reservedFirstComponent(path) { return false }
                isFirstComponent = false
                componentLength = 0
                dots = 0
                continue
            }
            if componentLength == 0 && isFirstComponent && byte == UInt8(ascii: ".") { firstComponentStartsWithDot = true }
            componentLength += 1
            if byte == UInt8(ascii: ".") { dots += 1 }
        }
        if componentLength == 0 || componentLength == dots && dots <= 2 { return false }
        if isFirstComponent && firstComponentStartsWithDot && reservedFirstComponent(path) { return false }
        return true
    }

    private static func reservedFirstComponent(_ path: String) -> Bool {
        let first = path.split(separator: "/", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        return PathSafety.reservedNames.contains(first)
    }

    // MARK: - Partial downloads

    private func readPartialDirectory() {
        guard destinationDescriptor >= 0,
              let stat = FileStat(relativePath: SyncTree.partialDirectoryName, in: destinationDescriptor)
        else { return }
        guard stat.isDirectory else {
            partialDirectoryProblem = .unsafe(path: SyncTree.partialDirectoryName, reason: stat.isSymlink ? "is a symbolic link; datapin never writes through one" : "is a file where a folder should be")
            return
        }
        let descriptor = openat(destinationDescriptor, SyncTree.partialDirectoryName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0, let directory = fdopendir(descriptor) else {
            if descriptor >= 0 { close(descriptor) }
            return
        }
        defer { closedir(directory) }
        while let item = readdir(directory) {
            let name = Self.name(of: item)
            if name == "." || name == ".." { continue }
            let type = item.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                let stat = FileStat(relativePath: SyncTree.partialDirectoryName + "/" + name, in: destinationDescriptor)
                partialNames[name] = stat?.isRegular ?? false
            } else {
                partialNames[name] = type == UInt8(DT_REG)
            }
        }
    }

    /// Notes the size of the entry's partial download; a partial that is not a regular file makes
    /// the entry's verdict unsafe.
    private func lookUpPartial(for entry: LockEntry, into result: inout EntryResult) {
        guard !partialNames.isEmpty, partialDirectoryProblem == nil else { return }
        let name = SyncTree.partialFileName(for: entry)
        guard let isRegular = partialNames[name] else { return }
        let relative = SyncTree.partialDirectoryName + "/" + name
        guard isRegular, let stat = FileStat(relativePath: relative, in: destinationDescriptor), stat.isRegular else {
            result.primary = .unsafe(path: relative, reason: "is not a regular file")
            return
        }
        result.partialBytes = stat.size
    }

    // MARK: - Walking the tree

    /// Every file, symlink or other non-folder under the destination that is not in `locked`,
    /// sorted; skips the reserved names at the top and the protected project files. Never
    /// follows a symlink. Call after `survey`: folders whose count of non-folders equals the
    /// number of locked files found in them are not checked name by name.
    func extras(locked: @autoclosure () -> Set<String>) -> [String] {
        guard destinationDescriptor >= 0 else { return [] }
        flushFolderCount()
        let protected = tree.protectedRelativePaths
        var foldersHoldingProtected: Set<String> = []
        for path in protected {
            var folder = path
            while let slash = folder.lastIndex(of: "/") {
                folder = String(folder[..<slash])
                foldersHoldingProtected.insert(folder)
            }
        }
        var lockedPaths: Set<String>?
        var found: [String] = []
        var pending: [String?] = [nil]
        while let folder = pending.popLast() {
            let descriptor = openat(destinationDescriptor, folder ?? ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0, let directory = fdopendir(descriptor) else {
                if descriptor >= 0 { close(descriptor) }
                continue
            }
            defer { closedir(directory) }
            let key = folder ?? ""
            var nonFolders = 0
            let forcedByName = foldersToCheckByName.contains(key)
            let checksNames = folder == nil || forcedByName || foldersHoldingProtected.contains(key)
            while let item = readdir(directory) {
                if Self.isDotOrDotDot(item) { continue }
                let type = item.pointee.d_type
                if type != UInt8(DT_DIR) && type != UInt8(DT_UNKNOWN) && !checksNames {
                    nonFolders += 1
                    continue
                }
                let name = Self.name(of: item)
                let relative = folder.map { $0 + "/" + name } ?? name
                if (folder == nil && SyncTree.reservedNames.contains(name)) || protected.contains(relative) { continue }
                if isFolder(item, relative: relative) {
                    pending.append(relative)
                } else {
                    nonFolders += 1
                }
            }
            if !forcedByName && nonFolders == lockedNonFolderCounts[key, default: 0] { continue }
            if lockedPaths == nil { lockedPaths = locked() }
            rewinddir(directory)
            while let item = readdir(directory) {
                if Self.isDotOrDotDot(item) { continue }
                let name = Self.name(of: item)
                if folder == nil && SyncTree.reservedNames.contains(name) { continue }
                let relative = folder.map { $0 + "/" + name } ?? name
                if isFolder(item, relative: relative) || protected.contains(relative) || lockedPaths!.contains(relative) { continue }
                found.append(relative)
            }
        }
        return found.sorted()
    }

    private func isFolder(_ item: UnsafeMutablePointer<dirent>, relative: @autoclosure () -> String) -> Bool {
        let type = item.pointee.d_type
        if type == UInt8(DT_UNKNOWN) { return FileStat(relativePath: relative(), in: destinationDescriptor)?.isDirectory == true }
        return type == UInt8(DT_DIR)
    }

    /// lstat size of an extra path (0 when it vanished).
    func size(ofExtra relativePath: String) -> Int64 {
        FileStat(relativePath: relativePath, in: destinationDescriptor)?.size ?? 0
    }

    /// The SHA-256 the state cache recorded for a file the lock does not list, when the file is
    /// unchanged since (size, mtime and inode); nil otherwise.
    func trustedDigest(ofExtra relativePath: String) -> String? {
        FileStat(relativePath: relativePath, in: destinationDescriptor).flatMap { cache.trustedDigest(for: relativePath, stat: $0) }
    }

    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    private static func isDotOrDotDot(_ item: UnsafeMutablePointer<dirent>) -> Bool {
        let name = UnsafeRawPointer(item).advanced(by: nameOffset).assumingMemoryBound(to: UInt8.self)
        return name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
    }

    private static func name(of item: UnsafeMutablePointer<dirent>) -> String {
        String(cString: UnsafeRawPointer(item).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
    }
}
