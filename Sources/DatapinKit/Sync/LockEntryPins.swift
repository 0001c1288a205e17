import DatapinLock

extension LockEntry {
    /// True when the lock does not yet pin this file completely: it has no sha256, or no size
    /// (pooch registries and SHA256SUMS indexes give none). A sync that downloads and verifies the
    /// file, or keeps one the state cache vouches for, writes both into the lock.
    public var needsPin: Bool { sha256 == nil || size == nil }
}
