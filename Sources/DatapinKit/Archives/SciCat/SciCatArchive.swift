import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinTransfer
import Foundation

/// A SciCat catalogue (ESS, PSI, MAX IV, …): datasets by `pids:` or by a `where:` filter on
/// their fields, each file of their origdatablocks a product, fetched from the facility's file
/// server that `files:` names (SciCat serves no files). v3 bases ask `/datasets/{pid}` and
/// `/datasets/{pid}/origdatablocks`; v4 bases `/datasets/{pid}?include=origdatablocks`, or
/// its `/datasets/public/…` form for anonymous callers. The token, when configured, goes only
/// to the archive's own hosts.
public struct SciCatArchive: Archive {
    public let name: String
    public let limits: Limits
    /// The spec's `files:` without a trailing slash; nil when the spec gives none.
    public let filesBase: String?
    /// The URL schemes the transfers of this build can fetch (libcurl's); `files:` of another
    /// scheme is refused when locking, not discovered when syncing.
    public let transferProtocols: Set<String>
    let connection: SciCatConnection

    /// Page sizes and bounds; the defaults suit the real catalogues, tests make them small.
    public struct Limits: Sendable, Hashable {
        /// Origdatablocks asked for per v3 request (SciCat answers at most 100).
        public var blockPageSize: Int
        /// Datasets per `where:` search page.
        public var searchPageSize: Int
        /// Pages one listing may take before datapin stops: a catalogue that never runs out of
        /// pages is an archive error, not an endless lock.
        public var maximumPages: Int
        /// Datasets asked for at the same time.
        public var concurrentDatasets: Int

        public init(blockPageSize: Int = 100, searchPageSize: Int = 100, maximumPages: Int = 10_000, concurrentDatasets: Int = 8) {
            self.blockPageSize = max(1, blockPageSize)
            self.searchPageSize = max(1, searchPageSize)
            self.maximumPages = max(1, maximumPages)
            self.concurrentDatasets = max(1, concurrentDatasets)
        }
    }

    /// `baseURL` is the spec's `url:` (`…/api/v3` or `…/api/v4`), `files` its `files:`;
    /// `credentialVariables` are named when SciCat does not show a dataset; `transferProtocols`
    /// are the schemes `files:` may have (libcurl's).
    public init(name: String, baseURL: String, files: String?, credentials: ArchiveCredentials = ArchiveCredentials(), client: HTTPClient = HTTPClient(), limits: Limits = Limits(), credentialVariables: [String] = [], transferProtocols: Set<String> = Curl.protocols) {
        self.name = name
        self.limits = limits
        self.transferProtocols = transferProtocols
        var files = files?.trimmingCharacters(in: .whitespacesAndNewlines)
        while files?.hasSuffix("/") == true { files?.removeLast() }
        self.filesBase = files?.isEmpty == false ? files : nil
        self.connection = SciCatConnection(archiveName: name, baseURL: baseURL, credentials: credentials, credentialVariables: credentialVariables, client: client)
    }

    /// The API base requests go to, without a trailing slash.
    public var baseURL: String { connection.baseURL }

    /// The files of the entry's datasets: `pids:` in order, then the `where:` matches by PID,
    /// each dataset once. A PID SciCat does not show is `.unknownDataset` (or, with a token,
    /// `.notAuthorised` saying the token may be expired); a dataset whose blocks disagree with
    /// its totals is `.malformedAnswer`.
    public func products(for entry: DatasetEntry) async throws(ArchiveError) -> [Product] {
        if !entry.ids.isEmpty || !entry.obsids.isEmpty || entry.mission != nil || entry.adql != nil || entry.calibrations != nil {
            throw .unsupportedRequest(archive: name, reason: "a SciCat archive takes datasets by 'pids:' or 'where:' only")
        }
        guard !entry.pids.isEmpty || !entry.whereConditions.isEmpty else {
            throw .unsupportedRequest(archive: name, reason: "name datasets with 'pids:' or select them with 'where:'")
        }
        guard let filesBase else {
            throw .unsupportedRequest(archive: name, reason: "SciCat serves no files; set 'files:' on the archive to the facility's file server (https://host/prefix, sftp://host or file:///mount)")
        }
        if let missing = Curl.missingProtocol(for: filesBase, protocols: transferProtocols) {
            throw .unsupportedRequest(archive: name, reason: "its files: \(HTTPClient.redactingUserInfo(filesBase)) cannot be fetched here: \(missing)")
        }
        var pids = entry.pids
        if !entry.whereConditions.isEmpty { pids += try await search(entry.whereConditions) }
        var seen: Set<String> = []
        pids = pids.filter { seen.insert($0).inserted }
        let datasets = try await fetchAll(pids)
        var products: [Product] = []
        for (dataset, blocks) in datasets {
            do {
                products += try SciCatProducts.products(of: dataset, blocks: blocks, archive: name, filesBase: filesBase)
            } catch {
                throw .malformedAnswer(url: connection.url("/datasets/\(SciCatProducts.segment(dataset.pid))"), reason: error.message)
            }
        }
        return products
    }

    /// SciCat publishes each file's size, checksum and time; a file gone from the blocks is not listed.
    public func upstreamChanges(of locked: LockEntry, listed: Product?) -> [UpstreamChange] {
        UpstreamChange.differences(locked, listed, comparing: [.size, .sha256, .checksum, .modified])
    }

    // MARK: Datasets

    /// Every dataset of `pids` with its blocks, in order, at most `concurrentDatasets` at a time.
    private func fetchAll(_ pids: [String]) async throws(ArchiveError) -> [(SciCatDataset, [SciCatBlock])] {
        let results = await withTaskGroup(of: (Int, Result<(SciCatDataset, [SciCatBlock]), ArchiveError>).self) { group in
            var results: [Int: Result<(SciCatDataset, [SciCatBlock]), ArchiveError>] = [:]
            var next = 0
            func start() {
                guard next < pids.count else { return }
                let index = next, pid = pids[index]
                next += 1
                group.addTask { (index, await Self.result { () async throws(ArchiveError) in try await fetch(pid) }) }
            }
            for _ in 0..<limits.concurrentDatasets { start() }
            for await (index, result) in group {
                results[index] = result
                start()
            }
            return results
        }
        var datasets: [(SciCatDataset, [SciCatBlock])] = []
        for index in pids.indices { datasets.append(try results[index]!.get()) }
        return datasets
    }

    private static func result<T>(_ body: () async throws(ArchiveError) -> T) async -> Result<T, ArchiveError> {
        do throws(ArchiveError) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    /// One dataset and its blocks, by the API version's routes.
    private func fetch(_ pid: String) async throws(ArchiveError) -> (SciCatDataset, [SciCatBlock]) {
        let encoded = SciCatProducts.segment(pid)
        switch connection.version {
        case .v3:
            let url = connection.url("/datasets/\(encoded)")
            let dataset = try datasetAnswer(try await connection.get(url, subject: "dataset '\(pid)'"), url: url, pid: pid)
            return (dataset, try await blocks(of: dataset.pid, encoded: encoded, numberOfFiles: dataset.numberOfFiles))
        case .v4:
            let route = connection.hasToken ? "/datasets/\(encoded)" : "/datasets/public/\(encoded)"
            let url = connection.url(route, query: [("include", "origdatablocks")])
            let dataset = try datasetAnswer(try await connection.get(url, subject: "dataset '\(pid)'"), url: url, pid: pid)
            return (dataset, dataset.blocks ?? [])
        }
    }

    /// The dataset in an answer; a 404 or an empty answer is "no such dataset" (with a token,
    /// one the token may not see).
    private func datasetAnswer(_ answer: SciCatConnection.Answer, url: String, pid: String) throws(ArchiveError) -> SciCatDataset {
        switch answer {
        case .notFound, .empty:
            if connection.hasToken {
                throw .notAuthorised(url: HTTPClient.redactingUserInfo(url), status: 404, advice: connection.refusalAdvice("dataset '\(pid)'"))
            }
            throw .unknownDataset(archive: name, dataset: pid)
        case .json(let value):
            do {
                return try SciCatJSON.dataset(value)
            } catch {
                throw .malformedAnswer(url: HTTPClient.redactingUserInfo(url), reason: error.reason)
            }
        }
    }

    /// v3's blocks of a dataset, `blockPageSize` at a time with a filter's `limits`, skipping
    /// the blocks already received.
    /// A server may answer fewer than asked (it caps answers at 100 blocks) or ignore the filter
    /// (every page is the first): paging ends when the blocks hold the dataset's `numberOfFiles`,
    /// or a page is empty or brings nothing new.
    private func blocks(of pid: String, encoded: String, numberOfFiles: Int64?) async throws(ArchiveError) -> [SciCatBlock] {
        var blocks: [SciCatBlock] = []
        var seen: Set<String> = []
        var files: Int64 = 0
        for page in 0..<limits.maximumPages {
            let filter = Self.json(["limits": ["limit": limits.blockPageSize, "skip": blocks.count]])
            let url = connection.url("/datasets/\(encoded)/origdatablocks", query: [("filter", filter)])
            let answer = try await connection.get(url, subject: "the origdatablocks of dataset '\(pid)'")
            guard case .json(let value) = answer else {
                if page == 0, case .notFound = answer { throw .unknownDataset(archive: name, dataset: pid) }
                return blocks
            }
            let pageBlocks: [SciCatBlock]
            do {
                pageBlocks = try SciCatJSON.blocks(value)
            } catch {
                throw .malformedAnswer(url: HTTPClient.redactingUserInfo(url), reason: error.reason)
            }
            var added = 0
            for (index, block) in pageBlocks.enumerated() where seen.insert(block.id ?? "page \(page) block \(index)").inserted {
                blocks.append(block)
                files += Int64(block.files.count)
                added += 1
            }
            if added == 0 || numberOfFiles.map({ files >= $0 }) == true { return blocks }
        }
        throw .malformedAnswer(url: connection.url("/datasets/\(encoded)/origdatablocks"), reason: "it kept answering pages of origdatablocks after \(limits.maximumPages) pages")
    }

    // MARK: where:

    /// The PIDs of the datasets matching `conditions`, sorted by PID, page by page.
    private func search(_ conditions: [WhereCondition]) async throws(ArchiveError) -> [String] {
        var filterWhere: [String: Any] = [:]
        for condition in conditions {
            let accepted = zip(condition.kinds, condition.values).flatMap(Self.filterValues)
            filterWhere[condition.name] = accepted.count == 1 ? accepted[0] : ["inq": accepted]
        }
        let route = connection.version == .v4 && !connection.hasToken ? "/datasets/public" : "/datasets"
        var pids: [String] = []
        var seen: Set<String> = []
        for page in 0..<limits.maximumPages {
            var pageLimits: [String: Any] = ["limit": limits.searchPageSize, "skip": page * limits.searchPageSize]
            switch connection.version {
            case .v3: pageLimits["order"] = "pid:asc"
            case .v4: pageLimits["sort"] = ["pid": "asc"]
            }
            let filter = Self.json(["where": filterWhere, "fields": ["pid"], "limits": pageLimits])
            let url = connection.url(route, query: [("filter", filter)])
            guard case .json(let value) = try await connection.get(url, subject: "the datasets matching 'where:'") else { return pids }
            let found: [String]
            do {
                found = try SciCatJSON.pids(value)
            } catch {
                throw .malformedAnswer(url: HTTPClient.redactingUserInfo(url), reason: error.reason)
            }
            let new = found.filter { seen.insert($0).inserted }
            pids += new
            if found.count < limits.searchPageSize { return pids }
            if new.isEmpty {
                throw .malformedAnswer(url: HTTPClient.redactingUserInfo(url), reason: "page \(page + 1) of the search repeats datasets already listed, so it ignores 'skip'")
            }
        }
        throw .malformedAnswer(url: connection.url(route), reason: "it kept answering pages of datasets after \(limits.maximumPages) pages")
    }

    /// The JSON values a `where:` value matches: text as written; a plain `true`/`false` the
    /// boolean; a plain number both the number and its text, since facilities store fields
    /// such as `proposalId` as either.
    private static func filterValues(kind: WhereValueKind, text: String) -> [Any] {
        switch kind {
        case .text: return [text]
        case .boolean: return [text.lowercased() == "true"]
        case .number:
            if let integer = Int64(text) { return [integer, text] }
            if let real = Double(text) { return [real, text] }
            return [text]
        }
    }

    /// `object` as compact JSON with sorted keys.
    private static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
