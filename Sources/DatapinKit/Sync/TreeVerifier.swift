import DatapinLock
import DatapinSupport
import Foundation

/// What re-hashing one locked file found.
public struct VerifyFinding: Sendable, Hashable {
    /// The result of checking one file against its lock entry.
    public enum Outcome: Sendable, Hashable {
        /// Size and every checksum the lock gives match.
        case ok
        case missing
        case sizeMismatch(expected: Int64, actual: Int64)
        case digestMismatch(expected: String, actual: String)
        /// The archive's own checksum (`checksum:` in the lock) differs.
        case checksumMismatch(algorithm: String, expected: String, actual: String)
        /// The lock has no sha256 for the file; `actual` is what the local bytes hash to.
        case unpinned(actual: String)
        /// The file is a symlink, not a regular file, under a symlinked folder, or unreadable.
        case unreadable(reason: String)
    }

    public var entry: LockEntry
    /// The file checked, relative to destination: the entry's path or one of its `alsoPaths`.
    public var path: String
    public var outcome: Outcome

    public init(entry: LockEntry, path: String, outcome: Outcome) {
        self.entry = entry
        self.path = path
        self.outcome = outcome
    }

    /// True when the file does not hold what the lock says (an unpinned file is not a problem).
    public var isProblem: Bool {
        switch outcome {
        case .ok, .unpinned: return false
        default: return true
        }
    }

    /// One plain sentence for a problem ("data/x.fits: sha256 is 12…, the lock says ab…").
    public var message: String {
        let name = PathSafety.escaped(path)
        switch outcome {
        case .ok: return "\(name): ok"
        case .missing: return "\(name): missing"
        case .sizeMismatch(let expected, let actual): return "\(name): size is \(actual) B, the lock says \(expected) B"
        case .digestMismatch(let expected, let actual): return "\(name): sha256 is \(actual), the lock says \(expected)"
        case .checksumMismatch(let algorithm, let expected, let actual): return "\(name): \(algorithm) is \(actual), the lock says \(expected)"
        case .unpinned(let actual): return "\(name): not pinned in the lock; its sha256 is \(actual)"
        case .unreadable(let reason): return "\(name): cannot be verified: \(reason)"
        }
    }
}

/// Re-hashes every locked file that exists, ignoring the state cache (what `datapin verify` does),
/// on one thread per core; files that match their pins are recorded in the cache.
public enum TreeVerifier {
    /// One finding per locked path (entries' paths and their `alsoPaths`), in lock order.
    /// Blocking (hashing on worker threads): call it from the main thread.
    public static func verify(lock: Lockfile, tree: SyncTree, cache: StateCache) -> [VerifyFinding] {
        let survey = TreeSurvey(tree: tree, cache: cache, duplicates: .link)
        var findings: [VerifyFinding] = []
        // Files are hashed on worker threads while the survey goes on.
        let hashing = LocalFileDigests.Pipeline()
        var jobFindings: [Int] = []
        findings.reserveCapacity(lock.files.count)
        jobFindings.reserveCapacity(lock.files.count)
        for entry in lock.files {
            for placement in -1..<entry.alsoPaths.count {
                let path = placement < 0 ? entry.path : entry.alsoPaths[placement]
                switch survey.observe(path) {
                case .missing:
                    findings.append(VerifyFinding(entry: entry, path: path, outcome: .missing))
                case .unsafe(let problemPath, let reason):
                    findings.append(VerifyFinding(entry: entry, path: path, outcome: .unreadable(reason: "\(PathSafety.escaped(problemPath)) \(reason)")))
                case .present(let stat):
                    if let size = entry.size, size != stat.size {
                        findings.append(VerifyFinding(entry: entry, path: path, outcome: .sizeMismatch(expected: size, actual: stat.size)))
                        continue
                    }
                    var algorithms: [DigestAlgorithm] = [.sha256]
                    if let algorithm = entry.checksum?.digestAlgorithm, algorithm != .sha256 {
                        algorithms.append(algorithm)
                    }
                    jobFindings.append(findings.count)
                    hashing.add(survey.job(for: path, algorithms: algorithms))
                    findings.append(VerifyFinding(entry: entry, path: path, outcome: .ok))
                }
            }
        }
        // The jobs open their files through the survey's descriptor of the destination; each
        // result is judged as it comes, while the workers hash the files after it.
        withExtendedLifetime(survey) {
            hashing.finish { index, result in
                let findingIndex = jobFindings[index]
                findings[findingIndex].outcome = outcome(of: result, for: findings[findingIndex], cache: cache)
            }
        }
        return findings
    }

    private static func outcome(of result: Result<LocalFileDigests.Digested, LocalFileError>, for finding: VerifyFinding, cache: StateCache) -> VerifyFinding.Outcome {
        let digested: LocalFileDigests.Digested
        switch result {
        case .failure(let error): return .unreadable(reason: error.reason)
        case .success(let value): digested = value
        }
        let entry = finding.entry
        if let size = entry.size, size != digested.stat.size {
            return .sizeMismatch(expected: size, actual: digested.stat.size)
        }
        let actual = digested.digests[.sha256] ?? ""
        if let pinned = entry.sha256, pinned != actual, pinned.lowercased() != actual {
            cache.forget(finding.path)
            return .digestMismatch(expected: pinned.lowercased(), actual: actual)
        }
        if let checksum = entry.checksum, let algorithm = checksum.digestAlgorithm,
           let computed = digested.digests[algorithm], computed != checksum.hex {
            cache.forget(finding.path)
            return .checksumMismatch(algorithm: checksum.algorithm, expected: checksum.hex, actual: computed)
        }
        guard entry.sha256 != nil else { return .unpinned(actual: actual) }
        cache.record(finding.path, stat: digested.stat, sha256: actual)
        return .ok
    }
}
