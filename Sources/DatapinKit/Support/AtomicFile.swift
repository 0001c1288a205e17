import Foundation

/// Writes a whole file so that readers see either the old content or the new, never a mix:
/// write to a temporary file in the same folder, flush it to disk, then rename over the target.
public enum AtomicFile {
    /// Why an atomic write failed; the target is unchanged.
    public struct WriteError: Error, Sendable {
        public var path: String
        public var reason: String

        public var message: String { "could not write \(path): \(reason)" }
    }

    public static func write(_ text: String, to url: URL) throws(WriteError) {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw WriteError(path: url.path, reason: String(cString: strerror(errno))) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(temporary.path)
                throw WriteError(path: url.path, reason: reason)
            }
            written += result
        }
        if fsync(descriptor) != 0 || close(descriptor) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw WriteError(path: url.path, reason: reason)
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw WriteError(path: url.path, reason: reason)
        }
    }
}
