import DatapinSupport
import Foundation

/// The selection spec, `datapin.yaml`: which datasets, from which archives, which of their
/// files, and how the local tree is laid out. Built by `SpecLoader`; every part that came from
/// the file keeps its source location so later errors can point at it.
public struct Spec: Sendable {
    /// Path of the spec file as the user named it (used in diagnostics).
    public var file: String
    public var version: Int
    /// Root of the synced tree, relative to the spec's directory unless absolute.
    public var destination: String
    public var layout: Layout
    public var duplicates: DuplicatePolicy
    public var manifest: Bool
    /// True when the destination's file system tells `Data.bin` from `data.bin` (`case_sensitive:
    /// true`); by default two locked paths that differ only in case are an error, since they
    /// would be one file on macOS and Windows. Not part of what is locked.
    public var caseSensitive: Bool
    /// Archives named in `archives:`, in file order, plus the built-in ones when used.
    public var archives: [ArchiveConfig]
    /// Default filters for every dataset entry.
    public var select: SelectFilters
    public var datasets: [DatasetEntry]
    /// Where `layout:` was written, for layout collision errors; nil when defaulted.
    public var layoutLocation: SourceLocation?

    public init(file: String, version: Int = 1, destination: String = "data", layout: Layout = .nested, duplicates: DuplicatePolicy = .once, manifest: Bool = true, caseSensitive: Bool = false, archives: [ArchiveConfig] = [], select: SelectFilters = SelectFilters(), datasets: [DatasetEntry] = [], layoutLocation: SourceLocation? = nil) {
        self.file = file
        self.version = version
        self.destination = destination
        self.layout = layout
        self.duplicates = duplicates
        self.manifest = manifest
        self.caseSensitive = caseSensitive
        self.archives = archives
        self.select = select
        self.datasets = datasets
        self.layoutLocation = layoutLocation
    }

    /// The configuration of the archive called `name`.
    public func archive(named name: String) -> ArchiveConfig? {
        archives.first { $0.name == name }
    }

    /// Every archive a dataset may name, by name: `archives` holds the built-in ones (as the
    /// spec configures them) and the spec's own.
    public var archivesByName: [String: ArchiveConfig] {
        var byName: [String: ArchiveConfig] = [:]
        for config in archives { byName[config.name] = config }
        return byName
    }
}

/// How locked files are placed under `destination`.
public enum Layout: Sendable, Hashable {
    /// `<dataset>/<filename>`
    case nested
    /// `<filename>`
    case flat
    /// A template using `{archive} {mission} {dataset} {dataset_name} {filename} {level} {suffix} {instrument}`.
    case template(String)

    /// The placeholders a template may use.
    public static let placeholders = ["archive", "mission", "dataset", "dataset_name", "filename", "level", "suffix", "instrument"]
}

/// What to do with a file that several datasets list.
public enum DuplicatePolicy: String, Sendable, Hashable, CaseIterable {
    /// Store it once, at the path of the first dataset that lists it.
    case once
    /// Store it once and hard-link it into every other dataset's place.
    case link
    /// Store a copy in every dataset's place.
    case copy
}

/// One archive the spec can name in `datasets[].archive`.
public struct ArchiveConfig: Sendable, Hashable {
    public var name: String
    public var kind: ArchiveKind
    /// Base URL (or, for an index, the catalog's path or URL); nil means the built-in default.
    public var url: String?
    /// Names of environment variables holding credentials; never the credentials themselves.
    public var tokenEnv: String?
    public var usernameEnv: String?
    public var passwordEnv: String?
    /// Where the archive's files are served from, when not from `url`: `https://host/prefix`,
    /// `sftp://host` or `file:///mount`.
    public var files: String?
    /// The token endpoint that `username_env` and `password_env` log in at (`token_url`, an
    /// RFC 6749 §4.3 password grant, or ESO's `auth_url`); nil: the kind's default, if any.
    public var tokenURL: String?
    /// The SSH private key file (`ssh_key:`, `~` expanded by the transfer) for `sftp://` files;
    /// nil: the SSH agent, then `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
    public var sshKey: String?
    /// Where the entry was written; nil for a built-in archive the spec did not configure.
    public var location: SourceLocation?

    public init(name: String, kind: ArchiveKind, url: String? = nil, tokenEnv: String? = nil, usernameEnv: String? = nil, passwordEnv: String? = nil, files: String? = nil, tokenURL: String? = nil, location: SourceLocation? = nil) {
        self.name = name
        self.kind = kind
        self.url = url
        self.tokenEnv = tokenEnv
        self.usernameEnv = usernameEnv
        self.passwordEnv = passwordEnv
        self.files = files
        self.tokenURL = tokenURL
        self.location = location
    }

    /// Stores the archive-level setting `key` (as the spec writes it); the loader calls this for
    /// each setting the archive's kind declares. A kind that declares a key of its own adds its
    /// field here.
    mutating func set(_ key: String, to value: String) {
        switch key {
        case "url": url = value
        case "token_env": tokenEnv = value
        case "username_env": usernameEnv = value
        case "password_env": passwordEnv = value
        case "files": files = value
        case "token_url", "auth_url": tokenURL = value
        case "ssh_key": sshKey = value
        default: preconditionFailure("ArchiveConfig has no field for the declared setting '\(key)'")
        }
    }

    /// The names of the environment variables this archive's credentials come from, in the
    /// order a message names them.
    public var credentialVariables: [String] { [tokenEnv, usernameEnv, passwordEnv].compactMap { $0 } }
}

/// A product's role, as MAST's Portal `productType`, Mission Search's `type` and the index
/// catalog's `type` name it (`exposure` is one of JWST Mission Search's types).
public enum ProductType: String, Sendable, Hashable, CaseIterable, Codable {
    case science
    case exposure
    case auxiliary
    case preview
    case info
    case reference
    case association
    /// A calibration file an archive associates with a science frame (ESO's calSelector).
    case calibration
}

/// Whether a file is public or needs exclusive-access credentials.
public enum Access: String, Sendable, Hashable, CaseIterable, Codable {
    case `public`
    case exclusive
}

/// calSelector's association modes for ESO raw frames.
public enum CalibrationMode: String, Sendable, Hashable, CaseIterable {
    case none
    case raw2raw
    case raw2master
}

/// A regular expression as written in the spec, with where it was written.
public struct FilePattern: Sendable, Hashable {
    public var source: String
    public var location: SourceLocation?

    public init(_ source: String, location: SourceLocation? = nil) {
        self.source = source
        self.location = location
    }
}

/// The `select:` filters. Values inside one key are OR-ed, keys are AND-ed; nil filters nothing.
public struct SelectFilters: Sendable, Hashable {
    public var levels: [String]?
    /// Normalised to lowercase with a leading underscore: `_cal`.
    public var suffixes: [String]?
    /// Normalised to lowercase with a leading dot: `.fits`.
    public var extensions: [String]?
    public var types: [ProductType]?
    /// Case-insensitive substrings of filename, instrument or filters.
    public var match: [String]?
    public var include: [FilePattern]?
    public var exclude: [FilePattern]?
    public var recommended: Bool?
    /// Guide-star files are excluded unless this is true.
    public var guidestar: Bool?
    /// Calibration-reference files are excluded unless this is true.
    public var calibrationReferences: Bool?
    public var access: [Access]?
    /// In bytes.
    public var maxSize: Int64?

    public init(levels: [String]? = nil, suffixes: [String]? = nil, extensions: [String]? = nil, types: [ProductType]? = nil, match: [String]? = nil, include: [FilePattern]? = nil, exclude: [FilePattern]? = nil, recommended: Bool? = nil, guidestar: Bool? = nil, calibrationReferences: Bool? = nil, access: [Access]? = nil, maxSize: Int64? = nil) {
        self.levels = levels
        self.suffixes = suffixes
        self.extensions = extensions
        self.types = types
        self.match = match
        self.include = include
        self.exclude = exclude
        self.recommended = recommended
        self.guidestar = guidestar
        self.calibrationReferences = calibrationReferences
        self.access = access
        self.maxSize = maxSize
    }

    /// These filters with every key that `override` sets replaced by its value (key by key).
    public func overridden(by override: SelectFilters?) -> SelectFilters {
        guard let override else { return self }
        var merged = self
        if let v = override.levels { merged.levels = v }
        if let v = override.suffixes { merged.suffixes = v }
        if let v = override.extensions { merged.extensions = v }
        if let v = override.types { merged.types = v }
        if let v = override.match { merged.match = v }
        if let v = override.include { merged.include = v }
        if let v = override.exclude { merged.exclude = v }
        if let v = override.recommended { merged.recommended = v }
        if let v = override.guidestar { merged.guidestar = v }
        if let v = override.calibrationReferences { merged.calibrationReferences = v }
        if let v = override.access { merged.access = v }
        if let v = override.maxSize { merged.maxSize = v }
        return merged
    }
}

/// One condition from `where:`: a field and the values it may take (a list is any of them).
/// MAST's Mission Search sends the values as text, comma-joined; SciCat's JSON filter sends
/// each as the kind of scalar it was written as.
public struct WhereCondition: Sendable, Hashable {
    public var name: String
    /// The values as written.
    public var values: [String]
    /// What each value was written as: a quoted or tagged value is text, a plain `true` or
    /// `false` a boolean, a plain number a number.
    public var kinds: [WhereValueKind]

    public init(name: String, values: [String], kinds: [WhereValueKind]? = nil) {
        self.name = name
        self.values = values
        self.kinds = kinds ?? values.map { _ in .text }
    }
}

/// The kind of scalar a `where:` value was written as.
public enum WhereValueKind: String, Sendable, Hashable {
    case text
    case boolean
    case number

    /// The kind of a YAML scalar: text unless it is plain (unquoted, untagged) and spells a
    /// YAML 1.2 core-schema boolean (`true`, `False`, …) or number (`42`, `-1.5e3`).
    public static func of(_ text: String, plain: Bool) -> WhereValueKind {
        guard plain else { return .text }
        if ["true", "false"].contains(text.lowercased()) { return .boolean }
        if text.wholeMatch(of: /[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/) != nil { return .number }
        return .text
    }
}

/// One entry of `datasets:`: which archive, which datasets, and optional filter overrides.
public struct DatasetEntry: Sendable, Hashable {
    /// Position in `datasets:` (0-based): the first entry to list a file owns its path.
    public var index: Int
    public var archive: String
    public var mission: String?
    public var ids: [String]
    public var whereConditions: [WhereCondition]
    public var obsids: [String]
    public var adql: String?
    public var pids: [String]
    public var calibrations: CalibrationMode?
    public var select: SelectFilters?
    /// Where the entry starts in the spec.
    public var location: SourceLocation?
    /// Where `archive:` was written.
    public var archiveLocation: SourceLocation?

    public init(index: Int, archive: String, mission: String? = nil, ids: [String] = [], whereConditions: [WhereCondition] = [], obsids: [String] = [], adql: String? = nil, pids: [String] = [], calibrations: CalibrationMode? = nil, select: SelectFilters? = nil, location: SourceLocation? = nil, archiveLocation: SourceLocation? = nil) {
        self.index = index
        self.archive = archive
        self.mission = mission
        self.ids = ids
        self.whereConditions = whereConditions
        self.obsids = obsids
        self.adql = adql
        self.pids = pids
        self.calibrations = calibrations
        self.select = select
        self.location = location
        self.archiveLocation = archiveLocation
    }
}
