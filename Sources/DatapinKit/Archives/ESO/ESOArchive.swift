import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// The ESO Science Archive: `ids:` (dp_ids) and `adql:` (a TAP query whose rows name dp_ids)
/// become each dataset's file through DataLink's `#this` row (the exact name ESO serves,
/// `eso_origfile`, `.fits.Z` and colons kept; the exact size; `last_mod_date`), and with
/// `calibrations:` the files calSelector associates with it. ESO publishes no checksums. A
/// frame whose `release_date` is in the future, or which DataLink refuses without
/// credentials, is exclusive. Credentials (an id_token as
/// Bearer) go to the archive's own hosts only.
public struct ESOArchive: Archive {
    public let name: String
    /// The base URL of `tap_obs`, `datalink` and `calselector`, without a trailing slash.
    public let baseURL: String
    public let limits: Limits
    let connection: VOConnection
    private let now: @Sendable () -> Date

    /// Batch sizes; the defaults suit the real archive, tests make them small.
    public struct Limits: Sendable, Hashable {
        /// IDs per DataLink request.
        public var datalinkBatchSize: Int
        /// dp_ids per `release_date` query.
        public var queryBatchSize: Int
        /// dp_ids per calSelector POST (ESO: thousands per POST are far faster than GETs).
        public var calSelectorBatchSize: Int

        public init(datalinkBatchSize: Int = 100, queryBatchSize: Int = 200, calSelectorBatchSize: Int = 500) {
            self.datalinkBatchSize = max(1, datalinkBatchSize)
            self.queryBatchSize = max(1, queryBatchSize)
            self.calSelectorBatchSize = max(1, calSelectorBatchSize)
        }
    }

    /// `baseURL` is the spec's `url:` (nil: `https://archive.eso.org`); `credentialVariables`
    /// are the spec's variables, which a refusal names.
    public init(name: String, baseURL: String? = nil, credentials: ArchiveCredentials = ArchiveCredentials(), client: HTTPClient = HTTPClient(),
                limits: Limits = Limits(), credentialVariables: [String] = [], now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        var base = baseURL ?? ESOKind.defaultURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.limits = limits
        self.now = now
        self.connection = VOConnection(archiveName: name, client: client, credentials: credentials, refusalAdvice: ESOKind.refusalAdvice(credentialVariables))
    }

    var datalink: DataLinkService { DataLinkService(url: "\(baseURL)/datalink/links", connection: connection, batchSize: limits.datalinkBatchSize) }
    var tap: TAPService { TAPService(baseURL: "\(baseURL)/tap_obs", connection: connection) }
    var calSelectorURL: String { "\(baseURL)/calselector/v1/associations" }

    /// The entry's files (see `listing(for:)`).
    public func products(for entry: DatasetEntry) async throws(ArchiveError) -> [Product] {
        try await listing(for: entry).products
    }

    /// The entry's files: each dataset's own file (`ids:` first, then the `adql:` rows' dp_ids,
    /// without repeats), and with `calibrations:` its association tree, calibrations and sibling
    /// raw frames. A dp_id DataLink does not know is `.unknownDataset`. Warns, naming the
    /// frames, of associations calSelector calls incomplete or uncertified, and of Raw2Master
    /// requests that fell back to raw calibrations.
    public func listing(for entry: DatasetEntry) async throws(ArchiveError) -> ArchiveListing {
        if !entry.pids.isEmpty { throw .unsupportedRequest(archive: name, reason: "'pids:' is for SciCat; ESO takes 'ids:' or 'adql:'") }
        if !entry.obsids.isEmpty || !entry.whereConditions.isEmpty || entry.mission != nil {
            throw .unsupportedRequest(archive: name, reason: "'mission:', 'where:' and 'obsids:' are for MAST; ESO takes 'ids:' or 'adql:'")
        }
        var datasets = entry.ids
        if let adql = entry.adql { datasets += try await datasetIDs(adql) }
        guard !datasets.isEmpty else {
            if entry.adql != nil { return ArchiveListing(products: []) }
            throw .unsupportedRequest(archive: name, reason: "name datasets with 'ids:' (dp_ids) or 'adql:'")
        }
        var seen: Set<String> = []
        let frameIDs = datasets.filter { seen.insert($0).inserted }

        let mode = entry.calibrations ?? .none
        async let own = Result.of { () async throws(ArchiveError) -> [ESOFile] in try await files(frameIDs) }
        async let associated = Result.of { () async throws(ArchiveError) -> [ESOCalSelector.Association] in
            mode == .none ? [] : try await ESOCalSelector(url: calSelectorURL, connection: connection, batchSize: limits.calSelectorBatchSize).associations(of: frameIDs, mode: mode)
        }
        let (ownResult, associatedResult) = await (own, associated)
        let frames = try ownResult.get()
        let associations = try associatedResult.get()

        var products = frames.map { product($0, dataset: $0.dpID, type: .science, owned: true) }
        guard !associations.isEmpty else { return ArchiveListing(products: products) }
        let members = try await files(Array(Set(associations.flatMap { $0.members.map(\.dpID) })).sorted())
        let byID = Dictionary(members.map { ($0.dpID, $0) }, uniquingKeysWith: { first, _ in first })
        for association in associations {
            let state = CalibrationAssociation(mode: association.requestedMode, executed: association.executedMode, certified: association.certified,
                                               complete: association.complete, files: association.members.count)
            products.append(Product(archive: name, dataset: association.frame, filename: association.treeFilename, uri: "eso:\(association.frame)/\(association.treeFilename)",
                                    url: association.treeURL, size: association.treeSize, type: .association, ownedByDataset: true, association: state))
            for member in association.members {
                guard let file = byID[member.dpID] else { continue }
                products.append(product(file, dataset: association.frame, type: member.sibling ? .science : .calibration, owned: false))
            }
        }
        return ArchiveListing(products: products, warnings: Self.warnings(associations, mode: mode))
    }

    /// What `lock` says of associations ESO's own script would alert on, one sentence each.
    static func warnings(_ associations: [ESOCalSelector.Association], mode: CalibrationMode) -> [String] {
        func named(_ frames: [ESOCalSelector.Association]) -> String {
            let names = frames.prefix(5).map(\.frame).joined(separator: ", ")
            return frames.count > 5 ? "\(names) and \(frames.count - 5) more" : names
        }
        func count(_ frames: [ESOCalSelector.Association]) -> String { frames.count == 1 ? "1 frame" : "\(frames.count) frames" }
        var warnings: [String] = []
        let incomplete = associations.filter { !$0.complete }
        if !incomplete.isEmpty {
            warnings.append("calSelector's \(mode.rawValue) association of \(count(incomplete)) is incomplete (ESO found no calibration of some type it needs): \(named(incomplete))")
        }
        let fellBack = associations.filter(\.fellBack)
        if !fellBack.isEmpty {
            warnings.append("calSelector could not execute \(mode.rawValue) for \(count(fellBack)) and ran \(fellBack[0].executedMode ?? "another mode") instead, so their calibrations are raw frames: \(named(fellBack))")
        }
        let uncertified = associations.filter { !$0.certified }
        if !uncertified.isEmpty {
            warnings.append("calSelector's \(mode.rawValue) association of \(count(uncertified)) uses calibrations not yet certified: \(named(uncertified)); ESO switches to certified ones, typically two working days later, and `datapin outdated` will then show the swap")
        }
        return warnings
    }

    /// ESO publishes a file's size, its `last_mod_date` and its release (a proprietary frame
    /// turns public), but no checksum; on a frame's association tree, calSelector's executed
    /// mode, certification, completeness and the number of files it names.
    public func upstreamChanges(of locked: LockEntry, listed: Product?) -> [UpstreamChange] {
        UpstreamChange.differences(locked, listed, comparing: [.size, .modified, .access])
            + UpstreamChange.associationChanges(locked.association, listed?.association)
    }

    private func product(_ file: ESOFile, dataset: String, type: ProductType, owned: Bool) -> Product {
        let exclusive = file.refused || (file.releaseDate.map { $0 > now() } ?? false)
        return Product(archive: name, mission: file.instrument, dataset: dataset, filename: file.filename, uri: "eso:\(file.dpID)", url: file.url,
                       size: file.size, modified: file.modified, level: file.category, type: type, access: exclusive ? .exclusive : .public,
                       ownedByDataset: owned, instrument: file.instrument)
    }

    /// The dp_ids of an `adql:` query's rows (its `dp_id` column), in the order the archive
    /// sent them. A truncated answer is refused; with credentials the query goes through UWS
    /// async (ESO rewrites authenticated queries, which are slow).
    func datasetIDs(_ adql: String) async throws(ArchiveError) -> [String] {
        let answer = connection.credentials.hasToken ? try await tap.queryAsync(adql) : try await tap.querySync(adql)
        let table = try answer.completeTable(archive: name)
        guard table.column(named: "dp_id") != nil else {
            throw .unsupportedRequest(archive: name, reason: "the 'adql:' query's rows have no dp_id column; select dp_id from dbo.raw or ivoa.ObsCore")
        }
        return table.rows.compactMap { $0.string("dp_id") }
    }

    /// Each dp_id's file from DataLink's `#this` row, with its `release_date` from `dbo.raw`
    /// (or `ivoa.ObsCore` for products), asked at the same time. Without credentials, a
    /// DataLink refusal (HTTP 401/403) is narrowed down ID by ID: a raw frame DataLink refuses
    /// is proprietary and becomes an exclusive file named as the portal serves raw frames
    /// (`<dp_id>.fits.Z`, from `dbo.raw`'s `access_url`), without a size until its first
    /// download; locking with credentials gives it DataLink's exact name and size.
    func files(_ dpIDs: [String]) async throws(ArchiveError) -> [ESOFile] {
        guard !dpIDs.isEmpty else { return [] }
        let ids = dpIDs.map(ESOFile.publisherDID)
        async let links = Result.of { () async throws(ArchiveError) -> DataLinkAnswer in try await datalink.links(for: ids) }
        async let catalogued = Result.of { () async throws(ArchiveError) -> [String: TAPFacts] in try await tapFacts(dpIDs) }
        let (linksResult, cataloguedResult) = await (links, catalogued)
        var this: [String: DataLinkRow] = [:]
        var refused: Set<String> = []
        var refusal: ArchiveError?
        switch linksResult {
        case .success(let answer):
            for id in ids { this[id] = answer.this(for: id) }
        case .failure(.unknownDataset(let archive, let dataset)):
            throw .unknownDataset(archive: archive, dataset: ESOFile.dpID(of: dataset))
        case .failure(let failure):
            guard case .notAuthorised = failure, !connection.credentials.hasToken else { throw failure }
            refusal = failure
            (this, refused) = try await linksRefusedOneByOne(ids)
        }
        let facts = try cataloguedResult.get()
        return try dpIDs.map { (dpID: String) throws(ArchiveError) -> ESOFile in
            if refused.contains(dpID), let refusal {
                // Only a raw frame has a portal URL in dbo.raw; anything else stays a refusal.
                guard let url = facts[dpID]?.accessURL else { throw refusal }
                return ESOFile(dpID: dpID, filename: "\(dpID).fits.Z", url: url, size: nil, modified: facts[dpID]?.modified, category: nil,
                               releaseDate: facts[dpID]?.release, instrument: facts[dpID]?.instrument, refused: true)
            }
            guard let this = this[ESOFile.publisherDID(dpID)], let url = this.accessURL else {
                throw .unknownDataset(archive: name, dataset: dpID)
            }
            let filename = this.row.string("eso_origfile") ?? ServedFileName.lastPathSegment(of: url) ?? dpID
            return ESOFile(dpID: dpID, filename: filename, url: url, size: this.contentLength, modified: this.row.string("last_mod_date"),
                           category: this.row.string("eso_category"), releaseDate: facts[dpID]?.release, instrument: facts[dpID]?.instrument)
        }
    }

    /// After DataLink refused a batch without credentials: every ID asked alone, at once. The
    /// `#this` rows of the IDs it answers, and the dp_ids it refuses (401/403); any other
    /// failure is thrown.
    private func linksRefusedOneByOne(_ ids: [String]) async throws(ArchiveError) -> (this: [String: DataLinkRow], refused: Set<String>) {
        let single = DataLinkService(url: datalink.url, connection: connection, batchSize: 1)
        let outcomes = await withTaskGroup(of: (String, Result<DataLinkAnswer, ArchiveError>).self) { group in
            for id in ids {
                group.addTask { (id, await Result.of { () async throws(ArchiveError) -> DataLinkAnswer in try await single.links(for: [id]) }) }
            }
            var outcomes: [(String, Result<DataLinkAnswer, ArchiveError>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }
        }
        var this: [String: DataLinkRow] = [:]
        var refused: Set<String> = []
        for (id, outcome) in outcomes {
            switch outcome {
            case .success(let answer): this[id] = answer.this(for: id)
            case .failure(.notAuthorised): refused.insert(ESOFile.dpID(of: id))
            case .failure(.unknownDataset(let archive, let dataset)): throw .unknownDataset(archive: archive, dataset: ESOFile.dpID(of: dataset))
            case .failure(let other): throw other
            }
        }
        return (this, refused)
    }

    /// What `dbo.raw` (then `ivoa.ObsCore`, for products) says of a dp_id.
    struct TAPFacts: Sendable {
        var release: Date?
        var instrument: String?
        /// `dbo.raw`'s data-portal URL of a raw frame.
        var accessURL: String?
        var modified: String?
    }

    /// `release_date`, `instrument`, `access_url` and `last_mod_date` by dp_id from `dbo.raw`,
    /// then `ivoa.ObsCore`'s `obs_release_date` and `instrument_name` for the rest; a dp_id in
    /// neither (a master calibration) has none.
    private func tapFacts(_ dpIDs: [String]) async throws(ArchiveError) -> [String: TAPFacts] {
        var found: [String: TAPFacts] = [:]
        for table in ["dbo.raw", "ivoa.ObsCore"] {
            let rest = dpIDs.filter { found[$0] == nil }
            let raw = table == "dbo.raw"
            let (releaseColumn, instrumentColumn) = raw ? ("release_date", "instrument") : ("obs_release_date", "instrument_name")
            let columns = raw ? "dp_id, release_date, instrument, access_url, last_mod_date" : "dp_id, obs_release_date, instrument_name"
            for start in stride(from: 0, to: rest.count, by: limits.queryBatchSize) {
                let batch = rest[start..<min(rest.count, start + limits.queryBatchSize)]
                let list = batch.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ", ")
                let adql = "SELECT \(columns) FROM \(table) WHERE dp_id IN (\(list))"
                let answer = connection.credentials.hasToken ? try await tap.queryAsync(adql, maxRecords: batch.count) : try await tap.querySync(adql, maxRecords: batch.count)
                for row in try answer.completeTable(archive: name).rows {
                    guard let dpID = row.string("dp_id") else { continue }
                    found[dpID] = TAPFacts(release: row.string(releaseColumn).flatMap(ESOFile.date), instrument: row.string(instrumentColumn),
                                           accessURL: raw ? row.string("access_url") : nil, modified: raw ? row.string("last_mod_date") : nil)
                }
            }
        }
        return found
    }
}

/// One file as ESO lists it.
struct ESOFile: Sendable, Hashable {
    var dpID: String
    /// `eso_origfile`: the name the data portal serves it under.
    var filename: String
    var url: String
    var size: Int64?
    var modified: String?
    var category: String?
    var releaseDate: Date?
    var instrument: String?
    /// DataLink refused it without credentials: proprietary, named by the portal's rule.
    var refused = false

    /// `ivo://eso.org/ID?<dp_id>`, the DataLink ID of a dp_id.
    static func publisherDID(_ dpID: String) -> String { publisherPrefix + dpID }

    /// The dp_id of a DataLink ID (`ivo://eso.org/ID?<dp_id>`); another text is returned as it is.
    static func dpID(of id: String) -> String {
        id.hasPrefix(publisherPrefix) ? String(id.dropFirst(publisherPrefix.count)) : id
    }

    private static let publisherPrefix = "ivo://eso.org/ID?"


    /// An ESO timestamp (`2022-01-02T01:05:12.000Z`, with or without fraction or zone) as a date.
    static func date(_ text: String) -> Date? {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        if !trimmed.hasSuffix("Z"), !trimmed.contains("+") { trimmed += "Z" }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: trimmed) ?? ISO8601DateFormatter().date(from: trimmed)
    }
}
