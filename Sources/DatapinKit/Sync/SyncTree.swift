import DatapinLock
import DatapinSelection
import DatapinSupport
import Foundation

/// Where a sync works: the destination tree, its partial-download folder, and the state folder.
public struct SyncTree: Sendable {
    /// Name of the partial-download folder inside `destination`.
    public static let partialDirectoryName = ".datapin-partial"
    /// Names at the top of `destination` that are never "extra" and never pruned: datapin's
    /// partial downloads and state, and the manifests a sync writes.
    public static let reservedNames = PathSafety.reservedNames.union(LaidOutPaths.manifestFileNames)

    /// Absolute; every locked path is relative to it.
    public var destination: URL
    /// `<destination>/.datapin-partial`: bytes of unfinished downloads.
    public var partialDirectory: URL
    /// `<spec dir>/.datapin`: the state cache and the sync lock live here.
    public var stateDirectory: URL
    /// Files or folders, absolute, that a sync never removes and `status` never calls extra
    /// when they lie inside `destination`, and that no locked path may name: the spec, the
    /// lock, the local catalogs the spec reads. The caller says which (Sync knows no spec or
    /// archive); the state folder is always protected.
    public var protectedPaths: Set<URL>

    public init(destination: URL, stateDirectory: URL, protectedPaths: Set<URL> = []) {
        self.destination = destination.standardizedFileURL
        self.partialDirectory = self.destination.appendingPathComponent(Self.partialDirectoryName, isDirectory: true)
        self.stateDirectory = stateDirectory.standardizedFileURL
        self.protectedPaths = Set(protectedPaths.map(\.standardizedFileURL))
    }

    /// Where a locked file (or one of its `alsoPaths`) lives.
    public func finalURL(for relativePath: String) -> URL {
        destination.appendingPathComponent(relativePath, isDirectory: false)
    }

    /// Where the bytes of an unfinished download of `entry` are kept. The name is derived from the
    /// entry's path, URL, size and sha256, so a changed lock entry never resumes stale bytes.
    public func partialURL(for entry: LockEntry) -> URL {
        partialDirectory.appendingPathComponent(Self.partialFileName(for: entry), isDirectory: false)
    }

    static func partialFileName(for entry: LockEntry) -> String {
        let key = [entry.path, entry.url, entry.size.map(String.init) ?? "-", entry.sha256?.lowercased() ?? "-"].joined(separator: "\u{0}")
        return String(Hasher.sha256Name(of: key).prefix(40)) + ".part"
    }

    /// Paths relative to `destination` (files, or folders whose whole content is protected) that
    /// are never extra: the state folder and `protectedPaths`, those that lie inside.
    public var protectedRelativePaths: Set<String> {
        var protected: Set<String> = []
        for url in [stateDirectory] + protectedPaths {
            if let relative = relativePath(of: url) { protected.insert(relative) }
        }
        return protected
    }

    /// `url` relative to `destination` when it lies strictly inside it (compared as written, then
    /// with symbolic links resolved), else nil.
    func relativePath(of url: URL) -> String? {
        func inside(_ path: String, _ base: String) -> String? {
            let prefix = base.hasSuffix("/") ? base : base + "/"
            return path.hasPrefix(prefix) && path.count > prefix.count ? String(path.dropFirst(prefix.count)) : nil
        }
        let path = url.standardizedFileURL.path
        if let relative = inside(path, destination.path) { return relative }
        return inside(url.resolvingSymlinksInPath().path, destination.resolvingSymlinksInPath().path)
    }
}

/// What `lstat(2)` says about a path: enough to tell whether a file changed since datapin verified it.
public struct FileStat: Sendable, Hashable {
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var inode: UInt64
    public var device: UInt64
    public var isRegular: Bool
    public var isSymlink: Bool
    public var isDirectory: Bool

    public init(size: Int64, mtimeNanoseconds: Int64, inode: UInt64, device: UInt64 = 0, isRegular: Bool = true, isSymlink: Bool = false, isDirectory: Bool = false) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
        self.device = device
        self.isRegular = isRegular
        self.isSymlink = isSymlink
        self.isDirectory = isDirectory
    }

    init(_ raw: stat) {
        let kind = raw.st_mode & S_IFMT
        self.init(
            size: Int64(raw.st_size),
            mtimeNanoseconds: Int64(raw.st_mtim.tv_sec) * 1_000_000_000 + Int64(raw.st_mtim.tv_nsec),
            inode: UInt64(raw.st_ino),
            device: UInt64(raw.st_dev),
            isRegular: kind == S_IFREG,
            isSymlink: kind == S_IFLNK,
            isDirectory: kind == S_IFDIR
        )
    }

    /// The path's own status (a symlink is described, not followed); nil when nothing is there
    /// or it cannot be examined.
    public init?(lstatAt path: String) {
        var raw = stat()
        guard lstat(path, &raw) == 0 else { return nil }
        self.init(raw)
    }

    /// Like `init(lstatAt:)`, for a path relative to an open folder.
    init?(relativePath: String, in directory: Int32) {
        var raw = stat()
        guard fstatat(directory, relativePath, &raw, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        self.init(raw)
    }

    /// What a message calls a path that is neither a regular file nor missing.
    var kindDescription: String {
        if isSymlink { return "a symbolic link" }
        if isDirectory { return "a folder" }
        return "not a regular file"
    }
}

/// A SHA-256 value held as four words, so a cache of 100,000 digests needs no string per digest.
struct SHA256Value: Hashable, Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    init?(hex: String) {
        let parsed = hex.utf8.withContiguousStorageIfAvailable { Self.parse(UnsafeRawBufferPointer($0)) }
            ?? Array(hex.utf8).withUnsafeBytes { Self.parse($0) }
        guard let parsed else { return nil }
        self = parsed
    }

    init?(hexBytes: UnsafeRawBufferPointer) {
        guard let value = Self.parse(hexBytes) else { return nil }
        self = value
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer) -> SHA256Value? {
        guard bytes.count == 64 else { return nil }
        @inline(__always) func word(_ start: Int) -> UInt64? {
            var value: UInt64 = 0
            for offset in start..<(start + 16) {
                let byte = bytes[offset]
                let digit = byte &- 48
                if digit < 10 {
                    value = value << 4 | UInt64(digit)
                    continue
                }
                let letter = (byte | 0x20) &- 97
                guard letter < 6 else { return nil }
                value = value << 4 | UInt64(letter + 10)
            }
            return value
        }
        guard let first = word(0), let second = word(16), let third = word(32), let fourth = word(48) else { return nil }
        return SHA256Value(words: (first, second, third, fourth))
    }

    private init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 64)
        for (index, word) in [words.0, words.1, words.2, words.3].enumerated() {
            for nibble in 0..<16 {
                out[index * 16 + nibble] = digits[Int((word >> UInt64(60 - 4 * nibble)) & 0xf)]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func == (lhs: SHA256Value, rhs: SHA256Value) -> Bool {
        lhs.words == rhs.words
    }

    func hash(into hasher: inout Swift.Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// Reads local files to compute their digests, never following a symlink, on one thread per core.
enum LocalFileDigests {
    /// What reading one file gave: its status when opened and the digests of its bytes.
    struct Digested: Sendable {
        var stat: FileStat
        var digests: [DigestAlgorithm: String]
    }

    /// One file to read and the algorithms to compute over it.
    struct Job: Sendable {
        /// Absolute, or relative to `directory`.
        var path: String
        var algorithms: [DigestAlgorithm]
        /// An open folder `path` is relative to (it must stay open until the job is done), so the
        /// kernel walks only the path's own components; `AT_FDCWD` for the working folder.
        var directory: Int32 = AT_FDCWD
    }

    static let blockSize = 1 << 20

    /// The digests of the regular file at `path`; fails on a symlink, a non-regular file or a read error.
    static func digest(path: String, in directory: Int32 = AT_FDCWD, algorithms: [DigestAlgorithm], buffer: UnsafeMutableRawBufferPointer) -> Result<Digested, LocalFileError> {
        let descriptor = openat(directory, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ELOOP { return .failure(LocalFileError(reason: "it is a symbolic link")) }
            return .failure(LocalFileError(reason: String(cString: strerror(errno))))
        }
        defer { close(descriptor) }
        var raw = stat()
        guard fstat(descriptor, &raw) == 0 else { return .failure(LocalFileError(reason: String(cString: strerror(errno)))) }
        let stat = FileStat(raw)
        guard stat.isRegular else { return .failure(LocalFileError(reason: "it is \(stat.kindDescription)")) }
        // Read-ahead advice only matters for a file longer than one read.
        if stat.size > Int64(buffer.count) { _ = posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL)) }
        let hashers: [Hasher]
        do throws(DigestError) {
            hashers = try algorithms.map { algorithm throws(DigestError) in try Hasher(algorithm) }
        } catch {
            return .failure(LocalFileError(reason: error.message))
        }
        do throws(FileHashing.ReadError) {
            try FileHashing.feed(descriptor, to: hashers, buffer: buffer)
        } catch {
            return .failure(LocalFileError(reason: error.reason))
        }
        return .success(Digested(stat: stat, digests: Dictionary(uniqueKeysWithValues: hashers.map { ($0.algorithm, $0.finalize()) })))
    }

    /// Digests every job, on up to `maximumThreads` threads (one per core by default; Dispatch
    /// worker threads, never Swift concurrency's pool); results are in the jobs' order.
    static func digestAll(_ jobs: [Job], maximumThreads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [Result<Digested, LocalFileError>] {
        guard !jobs.isEmpty else { return [] }
        let board = JobBoard(count: jobs.count)
        let workers = max(1, min(maximumThreads, jobs.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
            defer { buffer.deallocate() }
            while let index = board.take() {
                board.store(digest(path: jobs[index].path, in: jobs[index].directory, algorithms: jobs[index].algorithms, buffer: buffer), at: index)
            }
        }
        return board.results.map { $0! }
    }

    /// Digests jobs while the caller is still finding them: `threads` worker threads start on
    /// the first job handed over, and `finish` hands the caller each result, in the order the
    /// jobs were added, as soon as it is ready.
    final class Pipeline: @unchecked Sendable {
        /// Jobs are handed to the workers this many at a time, and at `finish`.
        private static let handOver = 64

        private let condition = NSCondition()
        private var jobs: [Job] = []
        private var results: [Result<Digested, LocalFileError>?] = []
        private var next = 0
        private var closed = false
        private var waiting: [Job] = []
        private let workers = DispatchGroup()
        private(set) var count = 0

        init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
            for _ in 0..<max(1, threads) {
                workers.enter()
                DispatchQueue.global().async {
                    self.work()
                    self.workers.leave()
                }
            }
        }

        /// Adds a job; its result will be at index `count` before the call.
        func add(_ job: Job) {
            waiting.append(job)
            count += 1
            if waiting.count >= Self.handOver { handOver(closing: false) }
        }

        /// Calls `body` with every job's index and result, in order, on the caller's thread,
        /// each as soon as it and those before it are done (while the workers hash the rest);
        /// returns when all are.
        func finish(_ body: (Int, Result<Digested, LocalFileError>) -> Void) {
            handOver(closing: true)
            condition.lock()
            var index = 0
            while index < results.count {
                guard let result = results[index] else {
                    condition.wait()
                    continue
                }
                results[index] = nil
                condition.unlock()
                body(index, result)
                index += 1
                condition.lock()
            }
            condition.unlock()
            workers.wait()
        }

        private func handOver(closing: Bool) {
            condition.lock()
            jobs.append(contentsOf: waiting)
            results.append(contentsOf: repeatElement(nil, count: waiting.count))
            if closing { closed = true }
            condition.broadcast()
            condition.unlock()
            waiting.removeAll(keepingCapacity: true)
        }

        private func work() {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
            defer { buffer.deallocate() }
            condition.lock()
            while true {
                while next >= jobs.count && !closed { condition.wait() }
                guard next < jobs.count else { break }
                let index = next
                let job = jobs[index]
                next += 1
                condition.unlock()
                let result = digest(path: job.path, in: job.directory, algorithms: job.algorithms, buffer: buffer)
                condition.lock()
                results[index] = result
                condition.broadcast()
            }
            condition.unlock()
        }
    }

    /// Hands out job indices to worker threads, each exactly once, and collects their results.
    private final class JobBoard: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private(set) var results: [Result<Digested, LocalFileError>?]

        init(count: Int) {
            results = Array(repeating: nil, count: count)
        }

        func take() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard next < results.count else { return nil }
            next += 1
            return next - 1
        }

        func store(_ result: Result<Digested, LocalFileError>, at index: Int) {
            lock.lock()
            defer { lock.unlock() }
            results[index] = result
        }
    }
}

/// Why a local file could not be read for hashing (one plain sentence fragment from the system).
struct LocalFileError: Error, Sendable, Hashable {
    var reason: String
}
