import CCrypto
import Foundation

/// A checksum algorithm datapin can compute through OpenSSL's EVP interface.
public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable {
    case sha256
    case sha512
    case sha1
    case md5
    case blake2b
    case blake2s

    /// Maps an archive's free-text algorithm name ("SHA-256", "md5", "blake2b-512") to an algorithm.
    public init?(archiveName: String) {
        let normalised = archiveName.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "")
        switch normalised {
        case "sha256", "sha2256": self = .sha256
        case "sha512", "sha2512": self = .sha512
        case "sha1", "sha": self = .sha1
        case "md5": self = .md5
        case "blake2b", "blake2b512", "blake2": self = .blake2b
        case "blake2s", "blake2s256": self = .blake2s
        default: return nil
        }
    }

    /// Whether the OpenSSL that datapin runs with computes the algorithm (a FIPS build, for one,
    /// may leave out MD5 or BLAKE2); OpenSSL is asked once per process.
    public var isAvailable: Bool { Self.available.contains(self) }

    private static let available = Set(allCases.filter(\.openSSLComputes))

    private var openSSLComputes: Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard let md = EVP_get_digestbyname(openSSLName) else { return false }
        return EVP_DigestInit_ex(context, md, nil) == 1
    }

    /// Fails when OpenSSL cannot compute SHA-256, which datapin verifies every file with and
    /// names its own files and digests by. The command line asks before anything else; a program
    /// using DatapinKit asks once before it locks or syncs.
    public static func requireSHA256() throws(DigestError) {
        guard DigestAlgorithm.sha256.isAvailable else { throw .unavailable(.sha256) }
    }

    /// OpenSSL's name for the algorithm.
    var openSSLName: String {
        switch self {
        case .sha256: return "SHA256"
        case .sha512: return "SHA512"
        case .sha1: return "SHA1"
        case .md5: return "MD5"
        case .blake2b: return "BLAKE2B512"
        case .blake2s: return "BLAKE2S256"
        }
    }

    /// Length of the digest in hexadecimal characters.
    public var hexLength: Int {
        switch self {
        case .sha256, .blake2s: return 64
        case .sha512, .blake2b: return 128
        case .sha1: return 40
        case .md5: return 32
        }
    }
}

/// Why a digest cannot be computed.
public enum DigestError: Error, Sendable, Hashable {
    /// The OpenSSL that datapin runs with does not compute `algorithm`.
    case unavailable(DigestAlgorithm)

    /// One plain sentence for the user.
    public var message: String {
        switch self {
        case .unavailable(let algorithm): return "the OpenSSL library datapin uses (libcrypto) cannot compute \(algorithm.openSSLName)"
        }
    }
}

/// An incremental digest computed by OpenSSL; feed it bytes as they stream, then read the hex.
/// Not thread-safe: one hasher belongs to one transfer.
public final class Hasher {
    public let algorithm: DigestAlgorithm
    private let context: OpaquePointer

    /// Fails when OpenSSL does not compute `algorithm`.
    public init(_ algorithm: DigestAlgorithm) throws(DigestError) {
        self.algorithm = algorithm
        guard let context = EVP_MD_CTX_new() else { throw .unavailable(algorithm) }
        guard let md = Self.fetched[algorithm], EVP_DigestInit_ex(context, md, nil) == 1 else {
            EVP_MD_CTX_free(context)
            throw .unavailable(algorithm)
        }
        self.context = context
    }

    /// Each algorithm's implementation, fetched from OpenSSL's default provider once per process
    /// (kept for its lifetime): initialising with a pre-fetched digest skips the provider lookup
    /// and its lock that `EVP_get_digestbyname` costs on every file. Written once, then only
    /// read; OpenSSL's fetched digests may be shared between threads.
    nonisolated(unsafe) private static let fetched: [DigestAlgorithm: OpaquePointer] = {
        var fetched: [DigestAlgorithm: OpaquePointer] = [:]
        for algorithm in DigestAlgorithm.allCases {
            if let md = EVP_MD_fetch(nil, algorithm.openSSLName, nil) { fetched[algorithm] = md }
        }
        return fetched
    }()

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public func update(_ string: String) {
        var string = string
        string.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The digest as lowercase hexadecimal; the hasher cannot be fed afterwards.
    public func finalize() -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { output in
            var length: UInt32 = 0
            EVP_DigestFinal_ex(context, output.baseAddress, &length)
            return Hex.encode(UnsafeBufferPointer(rebasing: output[0..<Int(length)]))
        }
    }

    /// The digest of a whole byte string.
    public static func hex(_ algorithm: DigestAlgorithm, of data: Data) throws(DigestError) -> String {
        let hasher = try Hasher(algorithm)
        hasher.update(data)
        return hasher.finalize()
    }

    /// The digest of a string's UTF-8 bytes.
    public static func hex(_ algorithm: DigestAlgorithm, of string: String) throws(DigestError) -> String {
        let hasher = try Hasher(algorithm)
        hasher.update(string)
        return hasher.finalize()
    }

    /// The SHA-256 of a text datapin names something by: the spec's meaning, a partial download,
    /// a journal record. These names cannot wait for an error, so SHA-256 is required up front:
    /// call `DigestAlgorithm.requireSHA256()` once before anything that names (the command line
    /// does before it runs a command); without SHA-256 this stops the program.
    public static func sha256Name(of text: String) -> String {
        do {
            return try hex(.sha256, of: text)
        } catch {
            preconditionFailure("\(error.message); DigestAlgorithm.requireSHA256() says so before anything is named")
        }
    }
}

/// Lowercase hexadecimal encoding.
public enum Hex {
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits: StaticString = "0123456789abcdef"
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        digits.withUTF8Buffer { digits in
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `encode` of a buffer, written straight into the string's storage.
    public static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUTF8Buffer { digits in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
            }
            return bytes.count * 2
        }
    }

    /// True when `text` is `length` lowercase or uppercase hexadecimal digits.
    public static func isHex(_ text: String, length: Int) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
    }
}
