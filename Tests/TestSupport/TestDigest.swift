import DatapinKit
import Foundation

/// Digests for tests' expectations. The tests need every algorithm datapin computes, so one that
/// OpenSSL lacks stops the test run with its message rather than making every expectation throw.
public enum TestDigest {
    public static func hex(_ algorithm: DigestAlgorithm, of data: Data) -> String {
        do {
            return try DatapinKit.Hasher.hex(algorithm, of: data)
        } catch {
            preconditionFailure("the tests need \(algorithm.rawValue): \(error.message)")
        }
    }

    public static func hex(_ algorithm: DigestAlgorithm, of text: String) -> String {
        hex(algorithm, of: Data(text.utf8))
    }
}
