/// A checksum as an archive publishes it: its algorithm's name and the hexadecimal value.
/// Written in the lock as `algorithm:hex` (`blake2b:77e1…`).
public struct Checksum: Sendable, Hashable, CustomStringConvertible {
    /// The archive's own algorithm name, lowercased (`md5`, `blake2b`); may be one OpenSSL lacks.
    public var algorithm: String
    public var hex: String

    public init(algorithm: String, hex: String) {
        self.algorithm = algorithm.lowercased()
        self.hex = hex.lowercased()
    }

    /// Parses `algorithm:hex`.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let algorithm = String(text[..<colon]), hex = String(text[text.index(after: colon)...])
        guard !algorithm.isEmpty, !hex.isEmpty else { return nil }
        self.init(algorithm: algorithm, hex: hex)
    }

    public var description: String { "\(algorithm):\(hex)" }

    /// The OpenSSL algorithm that verifies it, or nil when datapin cannot compute it: a name it
    /// does not know (`xxh64`), or one the OpenSSL it runs with leaves out.
    public var digestAlgorithm: DigestAlgorithm? {
        guard let known = DigestAlgorithm(archiveName: algorithm), known.isAvailable else { return nil }
        return known
    }
}
