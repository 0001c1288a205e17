import DatapinSupport
import Foundation

/// Access to one tree for one sync: `flock(2)` on `<stateDirectory>/sync.lock`, which holds
/// "pid <n> on <host> since <ISO time>" so a second sync can say whom it waits for. An unsharded
/// sync holds it exclusively. The shards of a job array (`--shard K/N`) hold it shared, so they
/// run side by side while an unsharded sync waits for them all, and each holds its own
/// `sync.K-of-N.lock` exclusively, so two runs of the same shard never overlap.
/// Released by `release()`, on deinit, or by the kernel when the process dies.
public final class SyncLock: @unchecked Sendable {
    /// The lock file's name inside the state folder.
    public static let fileName = "sync.lock"

    /// Why the lock could not be taken.
    public enum LockError: Error, Sendable, Hashable {
        case cannotOpen(path: String, reason: String)
        case cannotLock(path: String, reason: String)

        public var message: String {
            switch self {
            case .cannotOpen(let path, let reason): return "could not open the sync lock \(path): \(reason)"
            case .cannotLock(let path, let reason): return "could not lock \(path): \(reason)"
            }
        }
    }

    private let lock = NSLock()
    private var descriptors: [Int32]
    /// The tree's lock file.
    public let url: URL

    private init(descriptors: [Int32], url: URL) {
        self.descriptors = descriptors
        self.url = url
    }

    deinit { release() }

    /// Takes the tree's lock, creating the state folder if needed: exclusively, or shared plus the
    /// shard's own lock for a shard. When another process holds what is needed, calls `onWait`
    /// once with the holder's description and then waits until it is released. Blocking: call it
    /// from the main thread.
    public static func acquire(in tree: SyncTree, shard: Shard? = nil, onWait: (_ holderDescription: String) -> Void) throws(LockError) -> SyncLock {
        let url = tree.stateDirectory.appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(at: tree.stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw .cannotOpen(path: url.path, reason: "its folder could not be created")
        }
        let holder = "\(shard.map { "shard \($0): " } ?? "")pid \(getpid()) on \(ProcessInfo.processInfo.hostName) since \(ISO8601DateFormatter().string(from: Date()))\n"
        var waited = false
        func waitOnce(_ description: String) {
            if !waited { onWait(description) }
            waited = true
        }
        let whole = try take(url, exclusive: shard == nil, holder: holder, onWait: waitOnce)
        guard let shard else { return SyncLock(descriptors: [whole], url: url) }
        do {
            let shardURL = tree.stateDirectory.appendingPathComponent("sync.\(shard.fileSuffix).lock")
            let own = try take(shardURL, exclusive: true, holder: holder, onWait: waitOnce)
            return SyncLock(descriptors: [own, whole], url: url)
        } catch {
            flock(whole, LOCK_UN)
            close(whole)
            throw error
        }
    }

    /// Opens and locks one lock file, then writes `holder` into it.
    private static func take(_ url: URL, exclusive: Bool, holder: String, onWait: (String) -> Void) throws(LockError) -> Int32 {
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotOpen(path: url.path, reason: String(cString: strerror(errno))) }
        let mode = exclusive ? LOCK_EX : LOCK_SH
        if flock(descriptor, mode | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw .cannotLock(path: url.path, reason: reason)
            }
            onWait(holderDescription(descriptor))
            while flock(descriptor, mode) != 0 {
                guard errno == EINTR else {
                    let reason = String(cString: strerror(errno))
                    close(descriptor)
                    throw .cannotLock(path: url.path, reason: reason)
                }
            }
        }
        let text = Array(holder.utf8)
        if exclusive {
            if ftruncate(descriptor, 0) == 0 {
                _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
            }
        } else {
            // Shards share the file: each overwrites the text in place, so a waiting unsharded
            // sync names one of them. A shorter text leaves the end of a longer one, which the
            // newline cuts off when it is read back.
            _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        return descriptor
    }

    /// Lets the next sync in; calling it again does nothing.
    public func release() {
        lock.lock()
        defer { lock.unlock() }
        for descriptor in descriptors {
            flock(descriptor, LOCK_UN)
            close(descriptor)
        }
        descriptors = []
    }

    private static func holderDescription(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        let firstLine = count > 0 ? buffer[0..<count].split(separator: 10, omittingEmptySubsequences: true).first : nil
        let text = firstLine.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) } ?? ""
        return text.isEmpty ? "another process" : PathSafety.escaped(text)
    }
}
