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
///
/// The fields live in one shared, copy-on-write box: an entry is copied into plans, listings,
/// filters and reports far more often than it is changed, and a copy then costs one reference
/// instead of some 300 bytes (a 100,000-file sync's plan alone held 32 MB of copies).
public struct LockEntry: Sendable, Hashable {
    /// The fields; never changed while another entry shares them (`fields` copies first).
    private final class Fields: @unchecked Sendable {
        var path: String
        var archive: String
        var dataset: String
        var uri: String
        var url: String
        var size: Int64?
        var sha256: String?
        var checksum: Checksum?
        var modified: String?
        var level: String?
        var suffix: String?
        var type: ProductType?
        var access: Access
        var instrument: String?
        var filters: String?
        var association: CalibrationAssociation?
        var also: [String]
        var alsoPaths: [String]

        init(path: String, archive: String, dataset: String, uri: String, url: String, size: Int64?, sha256: String?, checksum: Checksum?, modified: String?, level: String?, suffix: String?, type: ProductType?, access: Access, instrument: String?, filters: String?, association: CalibrationAssociation?, also: [String], alsoPaths: [String]) {
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
            self.association = association
            self.also = also
            self.alsoPaths = alsoPaths
        }

        func copy() -> Fields {
            Fields(path: path, archive: archive, dataset: dataset, uri: uri, url: url, size: size, sha256: sha256, checksum: checksum, modified: modified, level: level, suffix: suffix, type: type, access: access, instrument: instrument, filters: filters, association: association, also: also, alsoPaths: alsoPaths)
        }
    }

    private var box: Fields

    /// The fields, unshared: copied first when another entry holds them too.
    private var fields: Fields {
        mutating get {
            if !isKnownUniquelyReferenced(&box) { box = box.copy() }
            return box
        }
    }

    /// Relative to `destination`, `/`-separated, already checked to stay inside it.
    public var path: String {
        get { box.path }
        set { fields.path = newValue }
    }
    public var archive: String {
        get { box.archive }
        set { fields.archive = newValue }
    }
    public var dataset: String {
        get { box.dataset }
        set { fields.dataset = newValue }
    }
    public var uri: String {
        get { box.uri }
        set { fields.uri = newValue }
    }
    public var url: String {
        get { box.url }
        set { fields.url = newValue }
    }
    public var size: Int64? {
        get { box.size }
        set { fields.size = newValue }
    }
    /// Given by the archive or pinned at first download.
    public var sha256: String? {
        get { box.sha256 }
        set { fields.sha256 = newValue }
    }
    /// The archive's own checksum, verified too.
    public var checksum: Checksum? {
        get { box.checksum }
        set { fields.checksum = newValue }
    }
    /// The archive's modification date of the file, as it publishes it; `outdated` compares it.
    public var modified: String? {
        get { box.modified }
        set { fields.modified = newValue }
    }
    public var level: String? {
        get { box.level }
        set { fields.level = newValue }
    }
    public var suffix: String? {
        get { box.suffix }
        set { fields.suffix = newValue }
    }
    public var type: ProductType? {
        get { box.type }
        set { fields.type = newValue }
    }
    public var access: Access {
        get { box.access }
        set { fields.access = newValue }
    }
    public var instrument: String? {
        get { box.instrument }
        set { fields.instrument = newValue }
    }
    public var filters: String? {
        get { box.filters }
        set { fields.filters = newValue }
    }
    /// On a frame's association-tree file: how the archive associated its calibrations.
    public var association: CalibrationAssociation? {
        get { box.association }
        set { fields.association = newValue }
    }
    /// Other datasets that list the same file.
    public var also: [String] {
        get { box.also }
        set { fields.also = newValue }
    }
    /// Where else the file is placed, with `duplicates: link` or `copy` (relative paths).
    public var alsoPaths: [String] {
        get { box.alsoPaths }
        set { fields.alsoPaths = newValue }
    }

    public init(path: String, archive: String, dataset: String, uri: String, url: String, size: Int64? = nil, sha256: String? = nil, checksum: Checksum? = nil, modified: String? = nil, level: String? = nil, suffix: String? = nil, type: ProductType? = nil, access: Access = .public, instrument: String? = nil, filters: String? = nil, also: [String] = [], alsoPaths: [String] = [], association: CalibrationAssociation? = nil) {
        box = Fields(path: path, archive: archive, dataset: dataset, uri: uri, url: url, size: size, sha256: sha256, checksum: checksum, modified: modified, level: level, suffix: suffix, type: type, access: access, instrument: instrument, filters: filters, association: association, also: also, alsoPaths: alsoPaths)
    }

    public static func == (lhs: LockEntry, rhs: LockEntry) -> Bool {
        if lhs.box === rhs.box { return true }
        let a = lhs.box, b = rhs.box
        return a.path == b.path && a.archive == b.archive && a.dataset == b.dataset && a.uri == b.uri && a.url == b.url && a.size == b.size && a.sha256 == b.sha256 && a.checksum == b.checksum && a.modified == b.modified && a.level == b.level && a.suffix == b.suffix && a.type == b.type && a.access == b.access && a.instrument == b.instrument && a.filters == b.filters && a.association == b.association && a.also == b.also && a.alsoPaths == b.alsoPaths
    }

    public func hash(into hasher: inout Swift.Hasher) {
        hasher.combine(box.path)
        hasher.combine(box.archive)
        hasher.combine(box.dataset)
        hasher.combine(box.uri)
        hasher.combine(box.url)
        hasher.combine(box.size)
        hasher.combine(box.sha256)
        hasher.combine(box.checksum)
        hasher.combine(box.modified)
        hasher.combine(box.level)
        hasher.combine(box.suffix)
        hasher.combine(box.type)
        hasher.combine(box.access)
        hasher.combine(box.instrument)
        hasher.combine(box.filters)
        hasher.combine(box.association)
        hasher.combine(box.also)
        hasher.combine(box.alsoPaths)
    }
}
