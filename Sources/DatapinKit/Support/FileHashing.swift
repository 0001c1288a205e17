import Foundation

/// The one loop that reads a file's bytes into hashers: the bytes of a download kept from an
/// earlier run, read back before it resumes, and every local file datapin re-hashes.
public enum FileHashing {
    /// Why reading a file for hashing stopped.
    public enum ReadError: Error, Sendable, Hashable {
        /// `read(2)` failed with this errno.
        case system(Int32)
        /// The file ended before the bytes asked for were read.
        case endedEarly

        /// A sentence fragment for messages ("Input/output error").
        public var reason: String {
            switch self {
            case .system(let code): return String(cString: strerror(code))
            case .endedEarly: return "the file ended before its expected length"
            }
        }
    }

    /// Reads `descriptor` from its current offset, in blocks of `buffer`'s size, and feeds every
    /// block to each of `hashers`: to the end of the file, or exactly `length` bytes when given.
    /// Returns how many bytes were fed.
    @discardableResult
    public static func feed(_ descriptor: Int32, to hashers: [Hasher], length: Int64? = nil, buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int64 {
        var fed: Int64 = 0
        while length.map({ fed < $0 }) ?? true {
            let want = length.map { Int(min(Int64(buffer.count), $0 - fed)) } ?? buffer.count
            let count = read(descriptor, buffer.baseAddress, want)
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(errno)
            }
            if count == 0 {
                if length != nil { throw .endedEarly }
                break
            }
            let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<count])
            for hasher in hashers { hasher.update(bytes) }
            fed += Int64(count)
        }
        return fed
    }
}
