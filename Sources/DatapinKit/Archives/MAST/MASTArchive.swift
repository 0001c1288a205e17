import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// The MAST archive (Mikulski Archive for Space Telescopes): `ids:` and `where:` through the
/// Mission Search API of `mission:` (jwst, hst, roman), `obsids:` through the Portal's CAOM
/// product lists. MAST publishes sizes and no checksums. A token, when configured, is sent as
/// `Authorization: token <t>` to the archive's own hosts only, listings included (exclusive-
/// access metadata).
public struct MASTArchive: Archive {
    public let name: String
    public let limits: Limits
    let connection: MASTConnection

    /// Page and batch sizes and the Portal's wait; the defaults suit the real archive, tests
    /// make them small.
    public struct Limits: Sendable, Hashable {
        /// Rows per Mission Search `search` request.
        public var searchPageSize: Int
        /// Dataset ids per `post_list_products` request (MAST accepts up to 1000).
        public var productBatchSize: Int
        /// Rows per Portal page.
        public var portalPageSize: Int
        /// Seconds before asking again for a page the Portal is still executing; each further
        /// wait is 1.5 times longer, up to 15 s (or this, when longer).
        public var portalPollDelaySeconds: Double
        /// Requests for one Portal page before giving up on it.
        public var portalMaximumPolls: Int
        /// Pages one listing (a search, a Portal product list) may take before datapin stops:
        /// an archive that never runs out of pages is an archive error, not an endless lock.
        public var maximumPagesPerListing: Int

        public init(searchPageSize: Int = 5000, productBatchSize: Int = 1000, portalPageSize: Int = 50000, portalPollDelaySeconds: Double = 2, portalMaximumPolls: Int = 60, maximumPagesPerListing: Int = 10_000) {
            self.searchPageSize = max(1, searchPageSize)
            self.productBatchSize = min(1000, max(1, productBatchSize))
            self.portalPageSize = max(1, portalPageSize)
            self.portalPollDelaySeconds = max(0, portalPollDelaySeconds)
            self.portalMaximumPolls = max(1, portalMaximumPolls)
            self.maximumPagesPerListing = max(1, maximumPagesPerListing)
        }
    }

    /// `baseURL` is the spec's `url:` (nil: `https://mast.stsci.edu`); `credentials` come from
    /// `ArchiveCredentials.resolve`, out of `credentialVariables` (which a refusal names).
    public init(name: String, baseURL: String? = nil, credentials: ArchiveCredentials = ArchiveCredentials(), client: HTTPClient = HTTPClient(), limits: Limits = Limits(), credentialVariables: [String] = ["MAST_API_TOKEN"]) {
        self.name = name
        self.limits = limits
        self.connection = MASTConnection(archiveName: name, baseURL: baseURL, credentials: credentials, credentialVariables: credentialVariables, client: client)
    }

    /// The base URL requests go to, without a trailing slash.
    public var baseURL: String { connection.baseURL }

    /// The entry's products: Mission Search datasets (`ids:` first, then `where:` results, without
    /// repeats) and Portal observations (`obsids:`). A file listed twice for one dataset is kept
    /// once (the first listing); a file several datasets list stays under each, for selection to
    /// lock once and name the others in `also`. A dataset named in `ids:` or `obsids:` that lists no product is `.unknownDataset`; a
    /// `where:` match without products contributes nothing. The Mission Search and the Portal
    /// are asked at the same time.
    public func products(for entry: DatasetEntry) async throws(ArchiveError) -> [Product] {
        if entry.adql != nil { throw .unsupportedRequest(archive: name, reason: "'adql:' is for ESO; MAST takes 'ids:', 'where:' or 'obsids:'") }
        if !entry.pids.isEmpty { throw .unsupportedRequest(archive: name, reason: "'pids:' is for SciCat; MAST takes 'ids:', 'where:' or 'obsids:'") }
        if entry.calibrations != nil { throw .unsupportedRequest(archive: name, reason: "'calibrations:' is for ESO; MAST has no calibration association") }
        let searchesMission = !entry.ids.isEmpty || !entry.whereConditions.isEmpty
        guard searchesMission || !entry.obsids.isEmpty else {
            throw .unsupportedRequest(archive: name, reason: "name datasets with 'ids:' or 'where:' (with 'mission:') or observations with 'obsids:'")
        }
        let mission = entry.mission?.lowercased() ?? ""
        if searchesMission, mission.isEmpty {
            throw .unsupportedRequest(archive: name, reason: "'ids:' and 'where:' search one MAST mission; add 'mission:' (jwst, hst or roman)")
        }
        async let fromMission = Result.of { () async throws(ArchiveError) -> [Product] in
            guard searchesMission else { return [] }
            return try await missionProducts(mission: mission, ids: entry.ids, conditions: entry.whereConditions)
        }
        async let fromPortal = Result.of { () async throws(ArchiveError) -> [Product] in
            entry.obsids.isEmpty ? [] : try await portalProducts(obsids: entry.obsids)
        }
        let (missionResult, portalResult) = await (fromMission, fromPortal)
        return MASTNormalisation.uniqueByDatasetAndURI(try missionResult.get() + portalResult.get())
    }

    /// MAST publishes a file's size and access (an exclusive-access file turns public when its
    /// period ends) but no checksum or modification date; the URL follows the archive's URL.
    public func upstreamChanges(of locked: LockEntry, listed: Product?) -> [UpstreamChange] {
        UpstreamChange.differences(locked, listed, comparing: [.size, .access, .url])
    }

    private func missionProducts(mission: String, ids: [String], conditions: [WhereCondition]) async throws(ArchiveError) -> [Product] {
        let search = MissionSearch(connection: connection, mission: mission, pageSize: limits.searchPageSize, batchSize: limits.productBatchSize, maximumPages: limits.maximumPagesPerListing)
        var datasets = ids
        if !conditions.isEmpty { datasets += try await search.datasetIDs(matching: conditions) }
        var seen: Set<String> = []
        datasets = datasets.filter { seen.insert($0).inserted }
        guard !datasets.isEmpty else { return [] }

        let rows = try await search.productRows(of: datasets)
        let listed = Set(rows.map { $0.dataset.uppercased() })
        if let missing = ids.first(where: { !listed.contains($0.uppercased()) }) {
            throw .unknownDataset(archive: name, dataset: missing)
        }
        var products = rows.map { MASTNormalisation.product($0, mission: mission, archive: name, baseURL: connection.baseURL) }
        MASTNormalisation.markRecommended(&products, mission: mission)
        return products
    }

    private func portalProducts(obsids: [String]) async throws(ArchiveError) -> [Product] {
        let polling = StillExecutingPolicy(initialDelaySeconds: limits.portalPollDelaySeconds, maximumDelaySeconds: max(limits.portalPollDelaySeconds, 15), maximumAttempts: limits.portalMaximumPolls)
        let portal = PortalProducts(connection: connection, pageSize: limits.portalPageSize, polling: polling, maximumPages: limits.maximumPagesPerListing)
        let rows = try await portal.productRows(of: obsids)
        if obsids.count == 1 {
            if rows.isEmpty { throw .unknownDataset(archive: name, dataset: obsids[0]) }
        } else {
            let listed = Set(rows.flatMap { [$0.obsID, $0.parentObsID].compactMap { $0 } })
            if let missing = obsids.first(where: { !listed.contains($0) }) {
                throw .unknownDataset(archive: name, dataset: missing)
            }
        }
        return rows.map { MASTNormalisation.product($0, archive: name, baseURL: connection.baseURL) }
    }
}
