import Foundation

/// POSIX writes that finish the job: `write(2)` may write fewer bytes than asked or be
/// interrupted, so every caller that writes a buffer goes through here.
package enum WritingAll {
    /// Writes every byte of `bytes` to `fd`, retrying short writes and interruptions; returns
    /// the errno on failure, nil when every byte was written.
    package static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard var next = bytes.baseAddress else { return nil }
        var remaining = bytes.count
        while remaining > 0 {
            let written = Foundation.write(fd, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            remaining -= written
            next += written
        }
        return nil
    }
}
