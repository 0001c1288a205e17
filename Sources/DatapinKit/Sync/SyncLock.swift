import DatapinSupport
import Foundation

/// Exclusive access to one tree for one sync: `flock(2)` on `<stateDirectory>/sync.lock`, which
/// holds "pid <n> on <host> since <ISO time>" so a second sync can say whom it waits for.
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
    private var descriptor: Int32
    /// The lock file.
    public let url: URL

    private init(descriptor: Int32, url: URL) {
        self.descriptor = descriptor
        self.url = url
    }

    deinit { release() }

    /// Takes the tree's lock, creating the state folder if needed. When another process holds it,
    /// calls `onWait` once with the holder's description and then waits until it is released.
    /// Blocking: call it from the main thread.
    public static func acquire(in tree: SyncTree, onWait: (_ holderDescription: String) -> Void) throws(LockError) -> SyncLock {
        let url = tree.stateDirectory.appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(at: tree.stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw .cannotOpen(path: url.path, reason: "its folder could not be created")
        }
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotOpen(path: url.path, reason: String(cString: strerror(errno))) }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw .cannotLock(path: url.path, reason: reason)
            }
            onWait(holderDescription(descriptor))
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let reason = String(cString: strerror(errno))
                    close(descriptor)
                    throw .cannotLock(path: url.path, reason: reason)
                }
            }
        }
        let text = Array("pid \(getpid()) on \(ProcessInfo.processInfo.hostName) since \(ISO8601DateFormatter().string(from: Date()))\n".utf8)
        if ftruncate(descriptor, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        return SyncLock(descriptor: descriptor, url: url)
    }

    /// Lets the next sync in; calling it again does nothing.
    public func release() {
        lock.lock()
        defer { lock.unlock() }
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    private static func holderDescription(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        let text = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return text.isEmpty ? "another process" : PathSafety.escaped(text)
    }
}
