import DatapinLock
import DatapinSpec
import DatapinSupport

/// One file an archive offers for one dataset, in archive-neutral terms. Archive adapters
/// produce these; selection, layout and the lock consume them and know no archive.
public struct Product: Sendable, Hashable {
    /// The spec's name of the archive that listed it.
    public var archive: String
    /// Mission or collection (`jwst`, `hst`), when the archive has one.
    public var mission: String?
    public var dataset: String
    /// The file's path relative to its dataset; usually a bare name, for SciCat it may have
    /// subfolders. Checked for safety before it becomes a local path.
    public var filename: String
    /// The archive's stable name for the file (`mast:JWST/product/…`).
    public var uri: String
    /// Where the bytes are downloaded from.
    public var url: String
    /// What makes two listings the same file: the URI for MAST, the resolved URL for an index.
    public var identity: String
    public var size: Int64?
    /// SHA-256 in lowercase hex, when the archive publishes it.
    public var sha256: String?
    /// The archive's own checksum when it is not SHA-256.
    public var checksum: Checksum?
    /// When the archive last changed the file, as the archive writes it (ISO 8601), when it says.
    public var modified: String?
    /// Product level or category as the archive names it (`2b`, `CALIBRATED`, `3`).
    public var level: String?
    /// Other names of the same level (`2` for CAOM calib_level 2 beside `CALIBRATED`).
    public var levelAliases: [String]
    /// Lowercase with a leading underscore: `_cal`.
    public var suffix: String?
    public var type: ProductType?
    public var access: Access
    /// Listed among the archive's minimum recommended products.
    public var recommended: Bool
    /// The archive lists the file as this dataset's own, not as one it shares with or takes
    /// from another dataset (an association listing its members' exposures). When several
    /// datasets list one file, an owning listing decides its dataset and path.
    public var ownedByDataset: Bool
    /// A guide-star file (`_gs-` in MAST names).
    public var guidestar: Bool
    public var instrument: String?
    public var filters: String?
    /// The dataset's human-readable name when the archive gives one besides its id (SciCat's
    /// `datasetName`), for the `{dataset_name}` layout placeholder.
    public var datasetName: String?
    /// On a science frame's association-tree file: how the archive associated its calibrations.
    public var association: CalibrationAssociation?

    public init(archive: String, mission: String? = nil, dataset: String, filename: String, uri: String, url: String, identity: String? = nil, size: Int64? = nil, sha256: String? = nil, checksum: Checksum? = nil, modified: String? = nil, level: String? = nil, levelAliases: [String] = [], suffix: String? = nil, type: ProductType? = nil, access: Access = .public, recommended: Bool = false, ownedByDataset: Bool = false, guidestar: Bool = false, instrument: String? = nil, filters: String? = nil, association: CalibrationAssociation? = nil) {
        self.archive = archive
        self.mission = mission
        self.dataset = dataset
        self.filename = filename
        self.uri = uri
        self.url = url
        self.identity = identity ?? uri
        self.size = size
        self.sha256 = sha256
        self.checksum = checksum
        self.modified = modified
        self.level = level
        self.levelAliases = levelAliases
        self.suffix = suffix
        self.type = type
        self.access = access
        self.recommended = recommended
        self.ownedByDataset = ownedByDataset
        self.guidestar = guidestar
        self.instrument = instrument
        self.filters = filters
        self.association = association
    }

    /// A pipeline calibration-reference file (excluded unless asked for).
    public var isCalibrationReference: Bool { type == .reference }
}
