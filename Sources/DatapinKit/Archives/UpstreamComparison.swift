import DatapinLock
import DatapinSelection

/// The facts of a file an archive may publish, for comparing a locked file with its listing.
public enum PublishedFact: Sendable, Hashable, CaseIterable {
    case size, sha256, checksum, modified, url, access
}

extension UpstreamChange {
    /// How `listed` differs from `locked` in the facts the archive publishes; a fact the listing
    /// leaves out (no size, no checksum) is not a change. A file no longer listed is `notListed`.
    public static func differences(_ locked: LockEntry, _ listed: Product?, comparing facts: Set<PublishedFact>) -> [UpstreamChange] {
        guard let listed else { return [.notListed] }
        var changes: [UpstreamChange] = []
        for fact in PublishedFact.allCases where facts.contains(fact) {
            switch fact {
            case .size:
                if let size = listed.size, size != locked.size { changes.append(.size(locked: locked.size, listed: size)) }
            case .sha256:
                if let sha256 = listed.sha256, sha256 != locked.sha256 { changes.append(.sha256(locked: locked.sha256, listed: sha256)) }
            case .checksum:
                if let checksum = listed.checksum, checksum != locked.checksum { changes.append(.checksum(locked: locked.checksum, listed: checksum)) }
            case .modified:
                if let modified = listed.modified, modified != locked.modified { changes.append(.modified(locked: locked.modified, listed: modified)) }
            case .url:
                if listed.url != locked.url { changes.append(.url(locked: locked.url, listed: listed.url)) }
            case .access:
                if listed.access != locked.access { changes.append(.access(locked: locked.access, listed: listed.access)) }
            }
        }
        return changes
    }
}
