import DatapinSupport
import Foundation

/// A block of downloaded bytes on its way from the transfer thread to the hashing thread.
/// Owned by one thread at a time; the hand-over goes through the pipeline's lock.
final class Chunk: @unchecked Sendable {
    let storage: UnsafeMutableRawBufferPointer
    var count = 0

    init(capacity: Int) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    var isFull: Bool { count == storage.count }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    /// Copies as much of `source` as fits and returns how many bytes were taken.
    func append(_ source: UnsafeRawBufferPointer) -> Int {
        let taken = min(source.count, storage.count - count)
        if taken > 0, let base = source.baseAddress {
            (storage.baseAddress! + count).copyMemory(from: base, byteCount: taken)
            count += taken
        }
        return taken
    }
}

/// The running digests of one file. Created on the transfer thread, then touched only by the
/// hashing thread (every use goes through `HashingPipeline`).
final class DigestSet: @unchecked Sendable {
    let algorithms: [DigestAlgorithm]
    private let hashers: [Hasher]
    private(set) var hashedBytes: Int64 = 0
    /// Set when bytes already on disk could not be read back for hashing.
    private(set) var problem: String?

    /// SHA-256 always, plus each of `extra` once; fails when OpenSSL computes one of them not.
    init(extra: [DigestAlgorithm]) throws(TransferFailure) {
        var algorithms: [DigestAlgorithm] = [.sha256]
        for algorithm in extra where !algorithms.contains(algorithm) { algorithms.append(algorithm) }
        self.algorithms = algorithms
        do throws(DigestError) {
            self.hashers = try algorithms.map { algorithm throws(DigestError) in try Hasher(algorithm) }
        } catch {
            throw .cannotVerify(reason: error.message)
        }
    }

    fileprivate func update(_ bytes: UnsafeRawBufferPointer) {
        for hasher in hashers { hasher.update(bytes) }
        hashedBytes += Int64(bytes.count)
    }

    /// Hashes the first `length` bytes of the file at `path` (bytes kept from an earlier run).
    fileprivate func prime(fromFileAt path: String, length: Int64) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            problem = "cannot read back \(path): \(String(cString: strerror(errno)))"
            return
        }
        defer { close(fd) }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { block.deallocate() }
        do throws(FileHashing.ReadError) {
            hashedBytes += try FileHashing.feed(fd, to: hashers, length: length, buffer: block)
        } catch .endedEarly {
            problem = "\(path) became shorter while it was read back"
        } catch {
            problem = "cannot read back \(path): \(error.reason)"
        }
    }

    fileprivate func finalize() -> FinalDigests {
        FinalDigests(digests: Dictionary(uniqueKeysWithValues: hashers.map { ($0.algorithm, $0.finalize()) }), hashedBytes: hashedBytes, problem: problem)
    }
}

/// The digests of a whole file, read off a `DigestSet` once every byte went through it.
struct FinalDigests: Sendable {
    var digests: [DigestAlgorithm: String]
    var hashedBytes: Int64
    var problem: String?

    var sha256: String { digests[.sha256] ?? "" }
}

/// One thread that hashes what the transfer thread receives, so hashing runs on the second
/// core in parallel with the network. Jobs run in the order they were queued; queuing more
/// than `maxQueuedBytes` of chunks makes the transfer thread wait (back-pressure).
final class HashingPipeline: @unchecked Sendable {
    private enum Job {
        case update(DigestSet, Chunk)
        case prime(DigestSet, path: String, length: Int64)
        case finish(DigestSet, (FinalDigests) -> Void)
        case stop
    }

    let chunkSize: Int
    private let maxQueuedChunks: Int
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var nextJob = 0
    private var queuedChunks = 0
    private var spareChunks: [Chunk] = []
    private var stopped = false

    init(chunkSize: Int = 512 << 10, maxQueuedBytes: Int = 8 << 20) {
        self.chunkSize = chunkSize
        self.maxQueuedChunks = max(1, maxQueuedBytes / chunkSize)
    }

    func start() {
        let thread = Thread { [self] in work() }
        thread.name = "datapin-hashing"
        thread.start()
    }

    /// An empty chunk, recycled when one is spare.
    func makeChunk() -> Chunk {
        condition.lock()
        defer { condition.unlock() }
        if let chunk = spareChunks.popLast() {
            chunk.count = 0
            return chunk
        }
        return Chunk(capacity: chunkSize)
    }

    /// Hands `chunk` over for hashing into `digests`; waits while the queue is full.
    func hash(_ chunk: Chunk, into digests: DigestSet) {
        condition.lock()
        while queuedChunks >= maxQueuedChunks { condition.wait() }
        queuedChunks += 1
        enqueueLocked(.update(digests, chunk))
        condition.unlock()
    }

    /// Hashes the first `length` bytes of the file at `path` into `digests`.
    func prime(_ digests: DigestSet, fromFileAt path: String, length: Int64) {
        enqueue(.prime(digests, path: path, length: length))
    }

    /// Runs `body` on the hashing thread with the final digests, after every chunk queued
    /// before it. `body` verifies and hands the file on; it must not wait for the transfer thread.
    func finish(_ digests: DigestSet, then body: @escaping (FinalDigests) -> Void) {
        enqueue(.finish(digests, body))
    }

    /// Runs the jobs already queued, then ends the thread; returns when it has ended.
    func shutdown() {
        enqueue(.stop)
        condition.lock()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func enqueue(_ job: Job) {
        condition.lock()
        enqueueLocked(job)
        condition.unlock()
    }

    private func enqueueLocked(_ job: Job) {
        jobs.append(job)
        condition.broadcast()
    }

    private func work() {
        while true {
            condition.lock()
            while nextJob == jobs.count { condition.wait() }
            let job = jobs[nextJob]
            nextJob += 1
            if nextJob == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                nextJob = 0
            } else if nextJob >= 1024 {
                jobs.removeFirst(nextJob)
                nextJob = 0
            }
            condition.unlock()

            switch job {
            case .update(let digests, let chunk):
                digests.update(chunk.bytes)
                condition.lock()
                queuedChunks -= 1
                if spareChunks.count < maxQueuedChunks { spareChunks.append(chunk) }
                condition.broadcast()
                condition.unlock()
            case .prime(let digests, let path, let length):
                digests.prime(fromFileAt: path, length: length)
            case .finish(let digests, let body):
                body(digests.finalize())
            case .stop:
                condition.lock()
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }
}
