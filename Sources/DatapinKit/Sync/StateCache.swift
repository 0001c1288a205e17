import DatapinSupport
import Foundation

/// path → (size, mtime ns, inode, sha256) of files datapin verified; lets an unchanged file be
/// trusted without reading it. Thread-safe: every method may be called from any thread.
///
/// Stored as `<stateDirectory>/sync-state`, one line per file, parsed from bytes so that a
/// 100,000-file cache loads in milliseconds:
/// `datapin-sync-state 1<TAB><destination>` then `<size><TAB><mtime ns><TAB><inode><TAB><sha256><TAB><path>`.
/// A shard (`--shard K/N`) saves the records of its own paths to `sync-state.K-of-N`, so shards
/// running at the same time never write over each other; every load merges those copies, and
/// the next unsharded sync saves them into `sync-state` and removes them.
public final class StateCache: @unchecked Sendable {
    /// The cache file's name inside the state folder.
    public static let fileName = "sync-state"
    static let header = "datapin-sync-state 1"

    struct Record {
        var path: String
        var size: Int64
        var mtimeNanoseconds: Int64
        var inode: UInt64
        var sha256: SHA256Value
    }

    /// Why the cache could not be saved; the previous cache file is unchanged.
    public enum SaveError: Error, Sendable, Hashable {
        case cannotWrite(path: String, reason: String)

        public var message: String {
            switch self {
            case .cannotWrite(let path, let reason): return "could not save the sync state cache \(path): \(reason)"
            }
        }
    }

    /// Which records a cache saves, and where.
    public enum Scope: Sendable {
        /// Every record, to `sync-state`.
        case tree
        /// The records of `paths` (the shard's entries' paths and their `alsoPaths`), to `sync-state.K-of-N`.
        case shard(Shard, paths: Set<String>)
    }

    private let lock = NSLock()
    private var records: RecordTable
    private var changed = false
    private let fileURL: URL
    private let destinationPath: String
    private let scope: Scope
    /// The shards' copies merged at load.
    private let mergedShardCopies: [URL]

    init(fileURL: URL, destinationPath: String, records: RecordTable, scope: Scope = .tree, mergedShardCopies: [URL] = []) {
        self.fileURL = fileURL
        self.destinationPath = destinationPath
        self.records = records
        self.scope = scope
        self.mergedShardCopies = mergedShardCopies
    }

    /// The cache saved in `tree.stateDirectory`, with every shard's copy merged over it; a
    /// missing or corrupt file, or one written for another destination, adds nothing, never an
    /// error. `scope` says what `save` writes.
    public static func load(from tree: SyncTree, scope: Scope = .tree) -> StateCache {
        let directory = tree.stateDirectory
        let destination = tree.destination.path
        var records = readFile(directory.appendingPathComponent(fileName).path).flatMap { parse($0, destination: destination) } ?? RecordTable()
        let copies = ShardStateFiles.shardCopies(of: fileName, in: directory)
        for copy in copies {
            guard let shardRecords = readFile(copy.path).flatMap({ parse($0, destination: destination) }) else { continue }
            for record in shardRecords.liveRecords { records.set(record) }
        }
        let shard: Shard?
        if case .shard(let value, _) = scope { shard = value } else { shard = nil }
        let cache = StateCache(fileURL: ShardStateFiles.url(of: fileName, in: directory, for: shard), destinationPath: destination,
                               records: records, scope: scope, mergedShardCopies: copies)
        // The tree's cache takes in what the shards recorded at its next save.
        if shard == nil && !copies.isEmpty { cache.changed = true }
        return cache
    }

    /// The number of files the cache describes.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return records.count
    }

    /// The sha256 recorded for `relativePath` when its size, mtime and inode still match `stat`.
    public func trustedDigest(for relativePath: String, stat: FileStat) -> String? {
        trustedValue(for: relativePath, stat: stat)?.hex
    }

    func trustedValue(for relativePath: String, stat: FileStat) -> SHA256Value? {
        lock.lock()
        defer { lock.unlock() }
        guard let record = records.record(for: relativePath), record.size == stat.size,
              record.mtimeNanoseconds == stat.mtimeNanoseconds, record.inode == stat.inode
        else { return nil }
        return record.sha256
    }

    /// Remembers that the file at `relativePath`, as `stat` describes it, has this sha256
    /// (ignored unless `sha256` is 64 hexadecimal digits).
    public func record(_ relativePath: String, stat: FileStat, sha256: String) {
        guard let value = SHA256Value(hex: sha256) else { return }
        lock.lock()
        defer { lock.unlock() }
        records.set(Record(path: relativePath, size: stat.size, mtimeNanoseconds: stat.mtimeNanoseconds, inode: stat.inode, sha256: value))
        changed = true
    }

    /// Drops what the cache knows about `relativePath` (a file removed, replaced or found different).
    public func forget(_ relativePath: String) {
        lock.lock()
        defer { lock.unlock() }
        if records.remove(relativePath) { changed = true }
    }

    /// Drops every path not in `relativePaths` (files no longer locked).
    public func retainOnly(_ relativePaths: Set<String>) {
        lock.lock()
        defer { lock.unlock() }
        let before = records.count
        records = RecordTable(records.liveRecords.filter { relativePaths.contains($0.path) })
        if records.count != before { changed = true }
    }

    /// Writes the cache atomically (`AtomicFile`) into the state folder, creating it if needed;
    /// does nothing when nothing changed since it was loaded or saved. A shard's cache writes
    /// only its own paths. With `absorbingShards` (an unsharded sync, which no shard runs beside),
    /// the shards' copies merged at load are removed once the tree's cache holds them.
    public func save(absorbingShards: Bool = false) throws(SaveError) {
        lock.lock()
        defer { lock.unlock() }
        guard changed else { return }
        var saved = records.liveRecords
        if case .shard(_, let paths) = scope {
            saved = saved.filter { paths.contains($0.path) }
        }
        let directory = fileURL.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path: fileURL.path, reason: "its folder could not be created")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + saved.count * 128)
        bytes.append(contentsOf: Self.header.utf8)
        bytes.append(9)
        bytes.append(contentsOf: destinationPath.utf8)
        bytes.append(10)
        for record in saved {
            bytes.append(contentsOf: String(record.size).utf8)
            bytes.append(9)
            bytes.append(contentsOf: String(record.mtimeNanoseconds).utf8)
            bytes.append(9)
            bytes.append(contentsOf: String(record.inode).utf8)
            bytes.append(9)
            bytes.append(contentsOf: record.sha256.hex.utf8)
            bytes.append(9)
            bytes.append(contentsOf: record.path.utf8)
            bytes.append(10)
        }
        do {
            try AtomicFile.write(bytes, to: fileURL)
        } catch {
            throw .cannotWrite(path: error.path, reason: error.reason)
        }
        changed = false
        if absorbingShards, case .tree = scope {
            for copy in mergedShardCopies { unlink(copy.path) }
        }
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var raw = stat()
        guard fstat(descriptor, &raw) == 0, raw.st_size > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(raw.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            filled += count
        }
        return bytes
    }

    /// The records in `bytes`, or nil when any line is malformed or the header names another destination.
    static func parse(_ bytes: [UInt8], destination: String) -> RecordTable? {
        bytes.withUnsafeBufferPointer { buffer -> RecordTable? in
            guard let headerEnd = buffer.firstIndex(of: 10) else { return nil }
            let expected = Array((header + "\t" + destination).utf8)
            guard headerEnd == expected.count, buffer[0..<headerEnd].elementsEqual(expected) else { return nil }
            var records = RecordTable()
            records.reserveCapacity(buffer.count / 110)
            var position = headerEnd + 1
            while position < buffer.count {
                guard let lineEnd = buffer[position...].firstIndex(of: 10) else { return nil }
                guard let size = parseNumber(buffer, &position, lineEnd), let mtime = parseNumber(buffer, &position, lineEnd),
                      let inode = parseNumber(buffer, &position, lineEnd),
                      position + 65 <= lineEnd, buffer[position + 64] == 9,
                      let digest = SHA256Value(hexBytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[position..<(position + 64)]))
                else { return nil }
                let pathStart = position + 65
                guard pathStart < lineEnd, size <= UInt64(Int64.max), mtime <= UInt64(Int64.max) else { return nil }
                let pathBytes = UnsafeBufferPointer(rebasing: buffer[pathStart..<lineEnd])
                records.set(Record(path: String(decoding: pathBytes, as: UTF8.self), size: Int64(size), mtimeNanoseconds: Int64(mtime), inode: inode, sha256: digest))
                position = lineEnd + 1
            }
            return records
        }
    }

    /// The records in the order they were saved (which is roughly the order files are looked up
    /// in), found through a small index keyed by a 64-bit hash of the path: the index stays in the
    /// processor's cache and the records are read nearly in sequence. A hash collision is harmless:
    /// trust also needs the same inode, size and mtime (the same file), and a record or forget
    /// that hits another path only costs a re-hash.
    struct RecordTable {
        private var records: [Record] = []
        private var index: [UInt64: Int32] = [:]

        init() {}

        init(_ records: [Record]) {
            reserveCapacity(records.count)
            for record in records { set(record) }
        }

        var count: Int { index.count }

        var liveRecords: [Record] {
            records.filter { !$0.path.isEmpty }
        }

        mutating func reserveCapacity(_ capacity: Int) {
            records.reserveCapacity(capacity)
            index.reserveCapacity(capacity)
        }

        func record(for path: String) -> Record? {
            guard let position = index[StateCache.key(path)] else { return nil }
            return records[Int(position)]
        }

        mutating func set(_ record: Record) {
            let key = StateCache.key(record.path)
            if let position = index[key] {
                records[Int(position)] = record
            } else {
                index[key] = Int32(records.count)
                records.append(record)
            }
        }

        /// Forgets `path`; its slot stays, emptied, until the table is rebuilt.
        mutating func remove(_ path: String) -> Bool {
            guard let position = index.removeValue(forKey: StateCache.key(path)) else { return false }
            records[Int(position)].path = ""
            return true
        }
    }

    /// FNV-1a over the path's UTF-8 bytes.
    static func key(_ path: String) -> UInt64 {
        if let hash = path.utf8.withContiguousStorageIfAvailable({ key(UnsafeRawBufferPointer($0)) }) { return hash }
        return Array(path.utf8).withUnsafeBytes { key($0) }
    }

    static func key(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// Reads decimal digits up to a tab, leaving `position` after the tab.
    private static func parseNumber(_ buffer: UnsafeBufferPointer<UInt8>, _ position: inout Int, _ limit: Int) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        while position < limit {
            let byte = buffer[position]
            position += 1
            if byte == 9 { return digits > 0 ? value : nil }
            guard byte >= 48 && byte <= 57, digits < 20 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - 48))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
            digits += 1
        }
        return nil
    }
}
