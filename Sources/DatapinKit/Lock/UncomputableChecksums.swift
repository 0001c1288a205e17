import DatapinSupport

extension Lockfile {
    /// One warning per archive checksum algorithm among the locked files that datapin cannot
    /// compute, naming it; empty when it can compute every one. `lock` shows them.
    public var uncomputableChecksumWarnings: [Diagnostic] {
        Self.uncomputableChecksumWarnings(for: files, described: "in the lock")
    }

    /// One warning per archive checksum algorithm among `entries` that datapin cannot compute
    /// (a name it does not know, such as `xxh64`, or one the OpenSSL it runs with leaves out),
    /// in order of the algorithms' names. Such files are still verified by size and SHA-256 (the
    /// archive's, or the one the first sync pins). `described` says which files these are
    /// ("in the lock", "fetched by this sync").
    public static func uncomputableChecksumWarnings(for entries: [LockEntry], described: String) -> [Diagnostic] {
        var byAlgorithm: [String: [LockEntry]] = [:]
        for entry in entries {
            guard let checksum = entry.checksum, checksum.digestAlgorithm == nil else { continue }
            byAlgorithm[checksum.algorithm, default: []].append(entry)
        }
        return byAlgorithm.keys.sorted().map { algorithm in
            let affected = byAlgorithm[algorithm]!
            let count = affected.count
            let why = DigestAlgorithm(archiveName: algorithm) == nil
                ? "an algorithm datapin does not know"
                : "which the OpenSSL library datapin uses does not provide"
            let files = count == 1 ? "1 file \(described) carries" : "\(count) files \(described) carry"
            let verified = count == 1 ? "it is" : "they are"
            return Diagnostic(.warning, "\(files) an archive checksum in \(PathSafety.escaped(algorithm)), \(why), so datapin cannot check it; \(verified) verified by size and SHA-256 instead (the archive's, or the one the first sync pins)",
                              notes: affected.prefix(3).map { "\(PathSafety.escaped(algorithm)) not checked: \(PathSafety.escaped($0.path))" })
        }
    }
}
