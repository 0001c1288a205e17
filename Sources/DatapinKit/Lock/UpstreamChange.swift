import DatapinSpec
import DatapinSupport

/// One way a locked file differs from what its archive lists now: what `datapin outdated`
/// reports and `datapin lock --update` would take.
public enum UpstreamChange: Sendable, Hashable {
    /// The archive lists another size.
    case size(locked: Int64?, listed: Int64)
    /// The archive publishes another SHA-256 than the locked (or pinned) one.
    case sha256(locked: String?, listed: String)
    /// The archive's own checksum changed.
    case checksum(locked: Checksum?, listed: Checksum)
    /// The archive's modification date of the file changed.
    case modified(locked: String?, listed: String)
    /// The file is now downloaded from another URL.
    case url(locked: String, listed: String)
    /// The file became public, or exclusive.
    case access(locked: Access, listed: Access)
    /// One value of a frame's calibration association changed (`certified`, `complete`,
    /// `executed`, `mode`, `files`), given as the lock writes it.
    case association(key: String, locked: String?, listed: String?)
    /// The archive no longer lists the file for any dataset entry of the spec.
    case notListed
    /// Something the archive itself tracks changed (a calibration tree, a certification),
    /// in the archive's own words.
    case archiveReason(String)

    /// The lock key the change is about (`size`, `sha256`, …), or `listing`/`archive` for the
    /// last two kinds.
    public var field: String {
        switch self {
        case .size: return "size"
        case .sha256: return "sha256"
        case .checksum: return "checksum"
        case .modified: return "modified"
        case .url: return "url"
        case .access: return "access"
        case .association(let key, _, _): return "association.\(key)"
        case .notListed: return "listing"
        case .archiveReason: return "archive"
        }
    }

    /// The locked and listed values as text, when the change has them.
    public var values: (locked: String?, listed: String?) {
        switch self {
        case .size(let locked, let listed): return (locked.map(String.init), String(listed))
        case .sha256(let locked, let listed): return (locked, listed)
        case .checksum(let locked, let listed): return (locked?.description, listed.description)
        case .modified(let locked, let listed): return (locked, listed)
        case .url(let locked, let listed): return (locked, listed)
        case .access(let locked, let listed): return (locked.rawValue, listed.rawValue)
        case .association(_, let locked, let listed): return (locked, listed)
        case .notListed, .archiveReason: return (nil, nil)
        }
    }

    /// One plain phrase: "size 1200 → 1300", "no longer listed".
    public var phrase: String {
        switch self {
        case .notListed: return "no longer listed by the archive"
        case .archiveReason(let reason): return reason
        case .association(let key, let locked, let listed):
            switch key {
            case "certified", "complete":
                func word(_ value: String?) -> String { value == "true" ? "yes" : value == "false" ? "no" : "unknown" }
                return "\(key): \(word(locked)) → \(word(listed))"
            case "executed": return "executed mode: \(locked ?? "unknown") → \(listed ?? "unknown")"
            case "files": return "calibration tree: \(locked ?? "?") → \(listed ?? "?") files"
            default: return "association \(key): \(locked ?? "none") → \(listed ?? "none")"
            }
        default:
            let (locked, listed) = values
            return "\(field) \(locked ?? "none") → \(listed ?? "none")"
        }
    }
}

/// One locked file and how its archive's current listing differs from it.
public struct OutdatedFile: Sendable, Hashable {
    public var entry: LockEntry
    public var changes: [UpstreamChange]

    public init(entry: LockEntry, changes: [UpstreamChange]) {
        self.entry = entry
        self.changes = changes
    }
}
