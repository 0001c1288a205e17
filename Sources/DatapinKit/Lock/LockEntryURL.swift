import Foundation

extension LockEntry {
    /// The URL to download from: the lock's `url` as written when it is absolute; a relative
    /// one (from a catalog given by a relative path) is a path relative to the lock's folder.
    public func downloadURL(lockDirectory: URL) -> String {
        if let parsed = URL(string: url), parsed.scheme != nil { return url }
        return lockDirectory.appendingPathComponent(url).standardized.absoluteString
    }
}
