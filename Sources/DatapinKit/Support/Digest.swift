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

/// An incremental digest computed by OpenSSL; feed it bytes as they stream, then read the hex.
/// Not thread-safe: one hasher belongs to one transfer.
public final class Hasher {
    public let algorithm: DigestAlgorithm
    private let context: OpaquePointer

    public init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        guard let context = EVP_MD_CTX_new(), let md = EVP_get_digestbyname(algorithm.openSSLName),
              EVP_DigestInit_ex(context, md, nil) == 1
        else {
            fatalError("OpenSSL does not provide \(algorithm.openSSLName); libcrypto is broken")
        }
        self.context = context
    }

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
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &output, &length)
        return Hex.encode(output.prefix(Int(length)))
    }

    /// The digest of a whole byte string.
    public static func hex(_ algorithm: DigestAlgorithm, of data: Data) -> String {
        let hasher = Hasher(algorithm)
        hasher.update(data)
        return hasher.finalize()
    }

    /// The digest of a string's UTF-8 bytes.
    public static func hex(_ algorithm: DigestAlgorithm, of string: String) -> String {
        let hasher = Hasher(algorithm)
        hasher.update(string)
        return hasher.finalize()
    }

    /// The digests of a file, read in large blocks, computed in one pass.
    public static func hexDigests(ofFileAt path: String, algorithms: [DigestAlgorithm]) throws -> [DigestAlgorithm: String] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        let hashers = algorithms.map { Hasher($0) }
        while true {
            let block = try handle.read(upToCount: 1 << 20) ?? Data()
            if block.isEmpty { break }
            block.withUnsafeBytes { bytes in hashers.forEach { $0.update(bytes) } }
        }
        return Dictionary(uniqueKeysWithValues: hashers.map { ($0.algorithm, $0.finalize()) })
    }
}

/// Lowercase hexadecimal encoding.
public enum Hex {
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when `text` is `length` lowercase or uppercase hexadecimal digits.
    public static func isHex(_ text: String, length: Int) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
    }
}
