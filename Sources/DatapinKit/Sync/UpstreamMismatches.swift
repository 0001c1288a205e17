import DatapinLock
import DatapinSupport
import Foundation

/// The locked files whose download at the last sync did not match the lock: the archive served
/// other bytes than it did when they were locked. `status` reads it so that it does not promise
/// that `sync` will fetch them, and `lock --update` so that it drops their pins even when the
/// archive still gives the same size and date; a new size or checksum makes a record stale.
///
/// Stored as `<stateDirectory>/upstream-mismatches`, one line per file:
/// `<locked size or -><TAB><locked sha256 or -><TAB><path>`; the file is absent when there is none.
/// A shard (`--shard K/N`) keeps its records in `upstream-mismatches.K-of-N`; `load` merges them,
/// and the next unsharded sync takes them into the tree's file.
public struct UpstreamMismatches: Sendable, Hashable {
    /// The file's name inside the state folder.
    public static let fileName = "upstream-mismatches"

    /// A locked file and the size and SHA-256 it was locked with.
    struct Record: Sendable, Hashable {
        var path: String
        var size: Int64?
        var sha256: String?

        init(path: String, size: Int64?, sha256: String?) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }

        init(_ entry: LockEntry) {
            self.init(path: entry.path, size: entry.size, sha256: entry.sha256)
        }
    }

    var records: Set<Record>

    init(records: Set<Record>) {
        self.records = records
    }

    /// The paths of `lock` whose last download did not match the lock as it is now.
    public func paths(in lock: Lockfile) -> Set<String> {
        Set(lock.files.filter { records.contains(Record($0)) }.map(\.path))
    }

    /// The records in `stateDirectory`, the shards' included; none, or a file that cannot be read, is empty.
    public static func load(stateDirectory: URL) -> UpstreamMismatches {
        let files = [stateDirectory.appendingPathComponent(fileName)] + ShardStateFiles.shardCopies(of: fileName, in: stateDirectory)
        return UpstreamMismatches(records: files.reduce(into: []) { $0.formUnion(read($1)) })
    }

    private static func read(_ url: URL) -> Set<Record> {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var records: Set<Record> = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[2].isEmpty else { continue }
            let size = fields[0] == "-" ? nil : Int64(fields[0])
            let sha256 = fields[1] == "-" ? nil : String(fields[1])
            records.insert(Record(path: String(fields[2]), size: size, sha256: sha256))
        }
        return records
    }

    /// Records a sync's outcome: the locked files at `failed` (its integrity failures) are
    /// recorded, those at `attempted` and not failed are cleared, earlier records of files the
    /// sync did not try stay. The file is removed when nothing is left. A shard writes its own
    /// file from its own earlier records; an unsharded sync (which no shard runs beside) takes
    /// in the shards' files and removes them. Best effort: a record that cannot be written only
    /// costs `status` its explanation.
    static func update(failed: [String], attempted: [LockEntry], of lock: Lockfile, in tree: SyncTree, shard: Shard? = nil) {
        let url = ShardStateFiles.url(of: fileName, in: tree.stateDirectory, for: shard)
        let tried = Set(attempted.map(\.path))
        let failedPaths = Set(failed)
        let earlier = shard == nil ? load(stateDirectory: tree.stateDirectory).records : read(url)
        let kept = earlier.filter { !tried.contains($0.path) }
        let lines = lock.files.filter { failedPaths.contains($0.path) || kept.contains(Record($0)) }.map { entry in
            "\(entry.size.map(String.init) ?? "-")\t\(entry.sha256 ?? "-")\t\(entry.path)\n"
        }.sorted()
        if lines.isEmpty {
            try? FileManager.default.removeItem(at: url)
        } else if (try? AtomicFile.write(lines.joined(), to: url)) == nil {
            return
        }
        if shard == nil {
            for copy in ShardStateFiles.shardCopies(of: fileName, in: tree.stateDirectory) { unlink(copy.path) }
        }
    }
}
