import DatapinLock
import Foundation

/// One of N disjoint parts of a lock (`--shard K/N`), so that the N tasks of a scheduler's job
/// array together place every locked file exactly once. A file's shard depends on its path and
/// N alone (FNV-1a of the path, modulo N): adding a file to the lock moves no other file between
/// shards, and the bytes spread evenly when files are many (a single huge file is one shard's).
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// From 0 to `count - 1`.
    public let index: Int
    public let count: Int

    /// Why `--shard` cannot be read.
    public enum ParseError: Error, Sendable, Hashable {
        case malformed(String)
        case outOfRange(index: Int, count: Int)
        case noScheduler
        case missingCount(variable: String)

        public var message: String {
            switch self {
            case .malformed(let text):
                return "--shard '\(text)' is not K/N (0 ≤ K < N, such as 3/16), auto or auto/N"
            case .outOfRange(let index, let count):
                return "--shard \(index)/\(count) is out of range: K counts from 0 to N-1 (0/\(count) … \(count - 1)/\(count))"
            case .noScheduler:
                return "--shard auto found neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); give --shard K/N"
            case .missingCount(let variable):
                return "--shard auto read its index from \(variable) but nothing says how many shards there are; give --shard auto/N"
            }
        }
    }

    public init(index: Int, count: Int) throws(ParseError) {
        guard count >= 1, index >= 0, index < count else { throw .outOfRange(index: index, count: count) }
        self.index = index
        self.count = count
    }

    /// `K/N`; `auto` (a Slurm job array: `SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`); or `auto/N` (the index from Slurm or from a Kubernetes Indexed
    /// Job's `JOB_COMPLETION_INDEX`, N given).
    public static func parse(_ text: String, environment: [String: String]) throws(ParseError) -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let first = parts.first, !first.isEmpty else { throw .malformed(text) }
        let givenCount: Int?
        if parts.count == 2 {
            guard let count = Int(parts[1]), count >= 1 else { throw .malformed(text) }
            givenCount = count
        } else {
            givenCount = nil
        }
        guard first == "auto" else {
            guard let index = Int(first), let count = givenCount else { throw .malformed(text) }
            return try Shard(index: index, count: count)
        }
        func number(_ name: String) -> Int? { environment[name].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        if let task = number("SLURM_ARRAY_TASK_ID") {
            let index = task - (number("SLURM_ARRAY_TASK_MIN") ?? 0)
            guard let count = givenCount ?? number("SLURM_ARRAY_TASK_COUNT") else { throw .missingCount(variable: "SLURM_ARRAY_TASK_ID") }
            return try Shard(index: index, count: count)
        }
        if let index = number("JOB_COMPLETION_INDEX") {
            guard let count = givenCount else { throw .missingCount(variable: "JOB_COMPLETION_INDEX") }
            return try Shard(index: index, count: count)
        }
        throw .noScheduler
    }

    /// True when the file at `path` belongs to this shard.
    public func contains(_ path: String) -> Bool {
        Self.shard(of: path, count: count) == index
    }

    /// The shard of the file at `path` among `count`.
    public static func shard(of path: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(max(1, count)))
    }

    /// `K/N`, as `--shard` writes it.
    public var description: String { "\(index)/\(count)" }

    /// `K-of-N`: what the shard's own files in the state folder are named with.
    public var fileSuffix: String { "\(index)-of-\(count)" }

    /// The entries of `lock` this shard places: each entry (with its `alsoPaths`) by its path.
    public func entries(of lock: Lockfile) -> [LockEntry] {
        lock.files.filter { contains($0.path) }
    }

    /// `lock` with only this shard's entries.
    public func part(of lock: Lockfile) -> Lockfile {
        var part = lock
        part.files = entries(of: lock)
        return part
    }
}

/// The names of a state file's per-shard copies: `<name>.K-of-N` beside `<name>` in the state
/// folder. Shards running at the same time each write their own copy; readers merge them all,
/// and the next unsharded sync folds them into the tree's file and removes them.
enum ShardStateFiles {
    /// The file a run writes: the tree's own, or its shard's copy.
    static func url(of name: String, in stateDirectory: URL, for shard: Shard?) -> URL {
        stateDirectory.appendingPathComponent(shard.map { "\(name).\($0.fileSuffix)" } ?? name)
    }

    /// Every shard's copy of `name` in `stateDirectory`, sorted by name.
    static func shardCopies(of name: String, in stateDirectory: URL) -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: stateDirectory.path) else { return [] }
        let prefix = name + "."
        return names.filter { candidate in
            guard candidate.hasPrefix(prefix) else { return false }
            let parts = candidate.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            return parts.count == 3 && parts[1] == "of" && Int(parts[0]) != nil && Int(parts[2]) != nil
        }.sorted().map { stateDirectory.appendingPathComponent($0) }
    }
}
