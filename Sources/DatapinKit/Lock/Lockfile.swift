import DatapinSpec
import DatapinSupport

/// The lockfile, `datapin.lock`: one entry per file, sorted by path, enough to sync without
/// asking any archive. Written deterministically by `LockWriter`, read by `LockReader`.
public struct Lockfile: Sendable, Hashable {
    public static let currentVersion = 1

    public var version: Int
    /// `sha256:<hex>` of the spec's meaning; `lock --check` compares it.
    public var specDigest: String
    /// Sorted by path.
    public var files: [LockEntry]

    public init(version: Int = Lockfile.currentVersion, specDigest: String, files: [LockEntry]) {
        self.version = version
        self.specDigest = specDigest
        // Sorting copies every entry; a reader's or resolver's entries usually come sorted.
        let sorted = files.indices.dropFirst().allSatisfy { !(files[$0].path < files[$0 - 1].path) }
        self.files = sorted ? files : files.sorted { $0.path < $1.path }
    }
}

/// One locked file: where it goes, where it comes from, and what its bytes must be.
public struct LockEntry: Sendable, Hashable {
    /// Relative to `destination`, `/`-separated, already checked to stay inside it.
    public var path: String
    public var archive: String
    public var dataset: String
    public var uri: String
    public var url: String
    public var size: Int64?
    /// Given by the archive or pinned at first download.
    public var sha256: String?
    /// The archive's own checksum, verified too.
    public var checksum: Checksum?
    /// The archive's modification date of the file, as it publishes it; `outdated` compares it.
    public var modified: String?
    public var level: String?
    public var suffix: String?
    public var type: ProductType?
    public var access: Access
    public var instrument: String?
    public var filters: String?
    /// On a frame's association-tree file: how the archive associated its calibrations.
    public var association: CalibrationAssociation?
    /// Other datasets that list the same file.
    public var also: [String]
    /// Where else the file is placed, with `duplicates: link` or `copy` (relative paths).
    public var alsoPaths: [String]

    public init(path: String, archive: String, dataset: String, uri: String, url: String, size: Int64? = nil, sha256: String? = nil, checksum: Checksum? = nil, modified: String? = nil, level: String? = nil, suffix: String? = nil, type: ProductType? = nil, access: Access = .public, instrument: String? = nil, filters: String? = nil, also: [String] = [], alsoPaths: [String] = [], association: CalibrationAssociation? = nil) {
        self.path = path
        self.archive = archive
        self.dataset = dataset
        self.uri = uri
        self.url = url
        self.size = size
        self.sha256 = sha256
        self.checksum = checksum
        self.modified = modified
        self.level = level
        self.suffix = suffix
        self.type = type
        self.access = access
        self.instrument = instrument
        self.filters = filters
        self.also = also
        self.alsoPaths = alsoPaths
        self.association = association
    }
}
