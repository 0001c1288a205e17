import DatapinLock
import DatapinSupport
import Foundation

/// Checksums and sizes observed for files locked without a sha256 or without a size
/// (`LockEntry.needsPin`), kept in `.datapin/pins.journal` until they are in datapin.lock, so that
/// a sync killed at any point (kill -9, a power cut) loses no pin.
///
/// Pins come only from bytes datapin itself verified and placed. Before the transfers start, a
/// sync records every unpinned file it is about to fetch (`fetch` lines, flushed to disk once);
/// as each one is verified and placed, its observed size and SHA-256 follow (`pin` lines).
/// Unpinned files the sync keeps get a `pin` only when the state cache holds the digest datapin
/// verified when it placed them; a file in place that datapin did not place here is kept by its
/// size and never pinned. The next sync folds the journal into the lock before it plans: a `pin`
/// counts when the file is still at its path with that size; a `fetch` without a `pin` whose file
/// is in place at the locked size means the sync was killed between placing the file and writing
/// its line, and the file is hashed and taken for that download (only something writing that
/// very path at that size before the next sync could put other bytes there). Records name the
/// lock entry they were made for (path, archive, URI and size), so another file never takes a
/// stale pin, and `datapin lock` in between (which keeps a file's URI and size) loses none.
///
/// Line format, tab-separated (locked paths never hold a tab or a newline), one record a line; a
/// last line cut short by a kill has no newline and is ignored:
/// `fetch <entry key> <path>` and `pin <entry key> <size> <sha256> <path>`.
///
/// A shard (`--shard K/N`) keeps its own `pins.journal.K-of-N` and folds it into datapin.lock as
/// it is on disk then, under an exclusive `flock` of `lockfile.lock` in the state folder, so
/// shards finishing at the same time lose none of each other's pins. An unsharded sync (which no
/// shard runs beside) folds every shard's journal left over with its own.
public final class PinJournal: @unchecked Sendable {
    public static let fileName = "pins.journal"
    /// What shards take `flock` on while they rewrite datapin.lock.
    static let lockFileLockName = "lockfile.lock"

    /// What the journal says about one lock entry.
    struct Record {
        var path: String
        /// Observed size and digest; nil while only the intent to fetch is recorded.
        var observed: (size: Int64, sha256: String)?
    }

    /// Why the journal could not be written (one plain sentence fragment from the system).
    public struct WriteError: Error, Sendable {
        public var path: String
        public var reason: String

        public var message: String { "could not write \(path): \(reason)" }
    }

    /// Why the journal's pins could not be written into datapin.lock; the journal is kept.
    public enum FoldError: Error, Sendable {
        case cannotWrite(AtomicFile.WriteError)
        case cannotReadLock(path: String, reason: String)
        case cannotLock(path: String, reason: String)

        public var message: String {
            switch self {
            case .cannotWrite(let error): return error.message
            case .cannotReadLock(let path, let reason): return "could not read \(path) again to add this shard's pins to it: \(reason)"
            case .cannotLock(let path, let reason): return "could not lock \(path): \(reason)"
            }
        }
    }

    /// The journal this sync writes.
    public let url: URL
    private let stateDirectory: URL
    private let shard: Shard?
    private let lock = NSLock()
    private var descriptor: Int32 = -1

    /// The journal of the tree, or of one shard.
    public init(stateDirectory: URL, shard: Shard? = nil) {
        self.stateDirectory = stateDirectory
        self.shard = shard
        url = ShardStateFiles.url(of: Self.fileName, in: stateDirectory, for: shard)
    }

    /// The journals this sync reads and folds: its own, and, unsharded, every shard's.
    private var readURLs: [URL] {
        shard == nil ? [url] + ShardStateFiles.shardCopies(of: Self.fileName, in: stateDirectory) : [url]
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The identity of a lock entry in the journal: its path, archive, URI and locked size. The
    /// URL is left out, so `lock --update` moving a file to a mirror keeps its pin; another file
    /// or another size at the path does not take it.
    static func key(for entry: LockEntry) -> String {
        let text = [entry.path, entry.archive, entry.uri, entry.size.map(String.init) ?? "-"].joined(separator: "\u{0}")
        return String(Hasher.sha256Name(of: text).prefix(40))
    }

    // MARK: Writing

    /// Records that these unpinned entries are about to be fetched, on disk before this returns.
    public func recordFetches(_ entries: [LockEntry]) throws(WriteError) {
        let lines = entries.filter(\.needsPin).map { "fetch\t\(Self.key(for: $0))\t\($0.path)\n" }
        guard !lines.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        try append(lines.joined())
        guard fsync(descriptor) == 0 else { throw WriteError(path: url.path, reason: String(cString: strerror(errno))) }
    }

    /// Records pins for unpinned entries this sync keeps (files already at their path with the
    /// locked size) from the digest the state cache holds for each: the bytes datapin verified
    /// when it placed the file, unchanged since. So a lock that lost its pins (a checkout of an
    /// older datapin.lock, a re-lock) gets them back without a download. Returns the entries it
    /// could not pin: files datapin did not place in this tree, or that changed since (a file
    /// damaged in place at the same size among them), which stay kept by size and unpinned. An
    /// entry with a sha256 but no size is kept only when its bytes match that sha256 (the planner
    /// checked them), so its size is the size in place.
    public func recordKept(_ entries: [LockEntry], tree: SyncTree, cache: StateCache) -> [LockEntry] {
        var unpinnable: [LockEntry] = []
        for entry in entries where entry.needsPin {
            guard let stat = FileStat(lstatAt: tree.finalURL(for: entry.path).path), stat.isRegular else {
                unpinnable.append(entry)
                continue
            }
            if let sha256 = entry.sha256 {
                recordPin(for: entry, size: stat.size, sha256: sha256)
            } else if let digest = cache.trustedDigest(for: entry.path, stat: stat) {
                recordPin(for: entry, size: stat.size, sha256: digest)
            } else {
                unpinnable.append(entry)
            }
        }
        return unpinnable
    }

    /// Records the size and SHA-256 observed for an unpinned entry whose verified bytes were just
    /// placed (or, from `recordKept`, that the state cache vouches for). Written at once (it
    /// survives the process being killed); not flushed to disk one by one: a power cut that loses
    /// it leaves the `fetch` line, which makes the next sync hash a downloaded file, or the state
    /// cache, which still vouches for a kept one.
    public func recordPin(for entry: LockEntry, size: Int64, sha256: String) {
        lock.withLock {
            try? append("pin\t\(Self.key(for: entry))\t\(size)\t\(sha256.lowercased())\t\(entry.path)\n")
        }
    }

    /// Call with `lock` held.
    private func append(_ text: String) throws(WriteError) {
        if descriptor < 0 {
            descriptor = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw WriteError(path: url.path, reason: String(cString: strerror(errno))) }
        }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw WriteError(path: url.path, reason: String(cString: strerror(errno)))
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Empties the journal (unsharded, the shards' too); call once what it held is in the lock on disk.
    public func clear() {
        lock.withLock {
            if descriptor >= 0 {
                close(descriptor)
                descriptor = -1
            }
            for journal in readURLs { unlink(journal.path) }
        }
    }

    // MARK: Reading

    /// The records by entry key; a `pin` wins over a `fetch` of the same entry.
    func records() -> [String: Record] {
        var records: [String: Record] = [:]
        for journal in readURLs {
            guard let data = FileManager.default.contents(atPath: journal.path) else { continue }
            Self.read(data, into: &records)
        }
        return records
    }

    private static func read(_ data: Data, into records: inout [String: Record]) {
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // The last piece is what follows the last newline: empty, or a line cut short.
        lines.removeLast()
        for line in lines {
            let fields = String(decoding: line, as: UTF8.self).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            switch fields.first {
            case "fetch" where fields.count == 3:
                if records[fields[1]] == nil { records[fields[1]] = Record(path: fields[2], observed: nil) }
            case "pin" where fields.count == 5:
                guard let size = Int64(fields[2]), SHA256Value(hex: fields[3]) != nil else { continue }
                records[fields[1]] = Record(path: fields[4], observed: (size, fields[3]))
            default:
                continue
            }
        }
    }

    /// True when there is no journal or it holds no bytes: a cheap test before reading it. A
    /// journal holding only a line cut short by a kill is not empty by this test, though it has
    /// no record (`records()` is then empty).
    public var isEmpty: Bool {
        readURLs.allSatisfy { (FileStat(lstatAt: $0.path)?.size ?? 0) == 0 }
    }

    /// Folds the journal into `lock` (`fold(into:tree:)`), writes the result to `lockFile`
    /// atomically when anything was pinned, then empties the journal. A shard's journal is folded
    /// into `lockFile` as it is on disk, read again under the lock-file `flock` (the other
    /// shards' pins are in it), or into `lock` when there is no such file. Returns the lock as it
    /// now is and what was pinned; when the lockfile cannot be written the journal is kept, so
    /// the next sync writes the pins.
    public func foldIntoLockFile(_ lock: Lockfile, tree: SyncTree, lockFile: URL) throws(FoldError) -> (lock: Lockfile, pinned: Pinned) {
        guard !isEmpty else { return (lock, Pinned()) }
        var base = lock
        var guardDescriptor: Int32 = -1
        defer {
            if guardDescriptor >= 0 {
                flock(guardDescriptor, LOCK_UN)
                close(guardDescriptor)
            }
        }
        if shard != nil {
            let guardPath = stateDirectory.appendingPathComponent(Self.lockFileLockName).path
            guardDescriptor = open(guardPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard guardDescriptor >= 0 else { throw .cannotLock(path: guardPath, reason: String(cString: strerror(errno))) }
            while flock(guardDescriptor, LOCK_EX) != 0 {
                guard errno == EINTR else { throw .cannotLock(path: guardPath, reason: String(cString: strerror(errno))) }
            }
            if FileManager.default.fileExists(atPath: lockFile.path) {
                do {
                    base = try LockReader.read(contentsOf: lockFile.path)
                } catch {
                    throw .cannotReadLock(path: lockFile.path, reason: error.diagnostics.first?.message ?? "it is not a valid lock")
                }
            }
        }
        let folded = fold(into: base, tree: tree)
        if folded.pinned.entries > 0 {
            do {
                try AtomicFile.write(LockWriter.render(folded.lock), to: lockFile)
            } catch {
                throw .cannotWrite(error)
            }
        }
        clear()
        return folded
    }

    /// Entries of `lock` without a sha256 or size that a sync already fetched or began to fetch,
    /// by the journal: they need pinning, which `sync --frozen` refuses.
    public func awaitingPins(in lock: Lockfile) -> [LockEntry] {
        guard !isEmpty else { return [] }
        let records = records()
        return lock.files.filter { $0.needsPin && records[Self.key(for: $0)]?.path == $0.path }
    }

    /// What a fold wrote into the lock: entries that got a pin, of them how many got a sha256
    /// and how many a size.
    public struct Pinned: Sendable, Equatable {
        public var entries = 0
        public var checksums = 0
        public var sizes = 0

        public init(entries: Int = 0, checksums: Int = 0, sizes: Int = 0) {
            self.entries = entries
            self.checksums = checksums
            self.sizes = sizes
        }

        public static func += (total: inout Pinned, more: Pinned) {
            total.entries += more.entries
            total.checksums += more.checksums
            total.sizes += more.sizes
        }
    }

    /// `lock` with the journal's pins (sha256 and size) for files still in place under `tree`,
    /// and what was pinned. Files recorded only as about to be fetched (a sync killed between
    /// placing a download and writing its `pin`) are hashed when they are in place at the locked
    /// size (any size when none is locked) and, when a sha256 is locked, hold those bytes.
    public func fold(into lock: Lockfile, tree: SyncTree) -> (lock: Lockfile, pinned: Pinned) {
        guard !isEmpty else { return (lock, Pinned()) }
        let records = records()
        guard !records.isEmpty else { return (lock, Pinned()) }
        var updated = lock
        var pinned = Pinned()
        var toHash: [(index: Int, path: String)] = []
        for index in updated.files.indices where updated.files[index].needsPin {
            let entry = updated.files[index]
            guard let record = records[Self.key(for: entry)], record.path == entry.path,
                  let stat = FileStat(lstatAt: tree.finalURL(for: entry.path).path), stat.isRegular,
                  entry.size == nil || entry.size == stat.size
            else { continue }
            if let observed = record.observed {
                guard observed.size == stat.size else { continue }
                Self.pin(&updated.files[index], size: observed.size, sha256: observed.sha256, into: &pinned)
            } else {
                toHash.append((index, tree.finalURL(for: entry.path).path))
            }
        }
        let digests = LocalFileDigests.digestAll(toHash.map { LocalFileDigests.Job(path: $0.path, algorithms: [.sha256]) })
        for (item, result) in zip(toHash, digests) {
            guard case .success(let digested) = result, let sha256 = digested.digests[.sha256] else { continue }
            if let size = updated.files[item.index].size, size != digested.stat.size { continue }
            Self.pin(&updated.files[item.index], size: digested.stat.size, sha256: sha256, into: &pinned)
        }
        return (updated, pinned)
    }

    /// Writes the observed size and sha256 into an entry where it has none; nothing when the
    /// entry pins another sha256 (those bytes are not the locked file).
    private static func pin(_ entry: inout LockEntry, size: Int64, sha256: String, into pinned: inout Pinned) {
        if let locked = entry.sha256, locked.lowercased() != sha256.lowercased() { return }
        pinned.entries += 1
        if entry.sha256 == nil {
            entry.sha256 = sha256.lowercased()
            pinned.checksums += 1
        }
        if entry.size == nil {
            entry.size = size
            pinned.sizes += 1
        }
    }
}
