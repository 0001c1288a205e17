import Foundation

/// How verified bytes are made durable before their final name points at them
/// (`datapin sync --durability`).
public enum Durability: String, Sendable, Hashable, CaseIterable {
    /// Everything verified since the previous batch is flushed with one `syncfs` per file
    /// system, then renamed: a power cut never leaves a final path with missing bytes.
    case batched
    /// One `fdatasync` per file before its rename: the same guarantee, one journal commit each.
    case file
    /// No flush: the kernel writes the bytes when it chooses. A power cut (not a crash or a
    /// kill, which the page cache survives) can leave a final path with missing bytes, which
    /// `datapin verify` finds; for scratch space and file systems that flush on close.
    case none
}

/// A verified partial file waiting to be made durable and renamed into place.
struct Placement {
    let index: Int
    let fd: Int32
    let request: TransferRequest
    let digests: FinalDigests
}

/// The thread that makes verified files durable and renames them to their final paths.
///
/// Durability choice: the data must be on disk before the final name points at it, so a crash
/// never leaves a final path with missing bytes; the folder itself is not synced (a rename
/// lost to a power cut only means the file is fetched again). One `fdatasync` per file costs
/// about a journal commit each (measured: 2,000 × 64 KiB took 1.1–1.8 s of syncs alone, more
/// than the whole download), so files are placed in batches: everything verified since the
/// previous batch is flushed with one `syncfs` per file system (one `fdatasync` for a batch of
/// one), then renamed. Batches grow by themselves while the disk is the bottleneck. `durability`
/// chooses another way (`Durability`).
final class Placer: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [Placement] = []
    private var stopping = false
    private var stopped = false
    private let durability: Durability
    private let deliver: (Int, TransferOutcome) -> Void

    /// `deliver` runs on the placer's thread with each file's outcome.
    init(durability: Durability = .batched, deliver: @escaping (Int, TransferOutcome) -> Void) {
        self.durability = durability
        self.deliver = deliver
    }

    func start() {
        let thread = Thread { [self] in work() }
        thread.name = "datapin-placement"
        thread.start()
    }

    func place(_ placement: Placement) {
        condition.lock()
        queue.append(placement)
        condition.signal()
        condition.unlock()
    }

    /// Places what is queued, then ends the thread; returns when it has ended.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            if batch.isEmpty {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            placeBatch(batch)
        }
    }

    private func placeBatch(_ batch: [Placement]) {
        let flushFailures = makeDurable(batch)
        for placement in batch {
            close(placement.fd)
            let request = placement.request
            if let failure = flushFailures[placement.index] {
                deliver(placement.index, .failed(failure))
                continue
            }
            do {
                try LocalFiles.moveIntoPlace(partialPath: request.partialPath, finalPath: request.finalPath, root: request.rootPath)
                deliver(placement.index, .placed(sha256: placement.digests.sha256, size: placement.digests.hashedBytes))
            } catch {
                deliver(placement.index, .failed(error))
            }
        }
    }

    /// Flushes every file of the batch; returns the failures by request index.
    private func makeDurable(_ batch: [Placement]) -> [Int: TransferFailure] {
        var failures: [Int: TransferFailure] = [:]
        func syncEach(_ placements: [Placement]) {
            for placement in placements where fdatasync(placement.fd) != 0 {
                failures[placement.index] = TransferFailure.fromErrno(errno, path: placement.request.partialPath)
            }
        }
        switch durability {
        case .none: return failures
        case .file:
            syncEach(batch)
            return failures
        case .batched:
            break
        }
        guard batch.count > 1 else {
            syncEach(batch)
            return failures
        }
        var byDevice: [UInt64: [Placement]] = [:]
        for placement in batch {
            var info = stat()
            let device = fstat(placement.fd, &info) == 0 ? UInt64(info.st_dev) : UInt64.max
            byDevice[device, default: []].append(placement)
        }
        for (device, placements) in byDevice {
            if device == UInt64.max || placements.count == 1 || Self.syncFileSystem(placements[0].fd) != 0 {
                syncEach(placements)
            }
        }
        return failures
    }

    /// `syncfs(2)`, looked up at run time because Glibc's Swift module hides GNU extensions;
    /// -1 (so each file is synced on its own) where the C library lacks it.
    private static func syncFileSystem(_ fd: Int32) -> Int32 {
        guard let syncfs = syncfsFunction else { return -1 }
        return syncfs(fd)
    }

    private typealias SyncFileSystem = @convention(c) (Int32) -> Int32
    private static let syncfsFunction: SyncFileSystem? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: SyncFileSystem.self)
    }()
}
