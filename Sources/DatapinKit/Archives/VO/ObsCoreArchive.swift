import DatapinLock
import DatapinSelection
import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// Any IVOA archive (`type: vo`): an `adql:` query on its TAP service whose rows are ObsCore
/// becomes one file per row. The dataset is `obs_id`, the level `calib_level`, the mission
/// `obs_collection`, the URI `vo:<obs_publisher_did>`. A row whose `access_format` is DataLink
/// points at the file through its `#this` row (asked in batches, its `content_length` exact);
/// another row's `access_url` is the file. Every file gets a HEAD at lock time, all at once
/// (the run's host limiter bounds them): its name is the `Content-Disposition` file name, else
/// the URL's last path segment (else the last segment of `obs_id`); its size is DataLink's or
/// the HEAD's `Content-Length`, else none (ObsCore's `access_estsize` is only an estimate), and
/// sync then pins the exact size and SHA-256 at the first download. A HEAD refused with 401 or 403 makes the file exclusive.
public struct ObsCoreArchive: Archive {
    public let name: String
    /// The TAP service, without a trailing slash.
    public let tapURL: String
    let connection: VOConnection
    /// IDs per DataLink request.
    public let dataLinkBatchSize: Int

    /// The columns an `adql:` query's rows must have.
    static let requiredColumns = ["obs_publisher_did", "obs_id", "access_url"]
    /// The `access_format` of a DataLink document (DataLink 1.1 §3.3).
    static let dataLinkFormat = "content=datalink"

    /// `tokenVariable` is the spec's `token_env`, which a refusal names.
    public init(name: String, tapURL: String, credentials: ArchiveCredentials = ArchiveCredentials(), client: HTTPClient = HTTPClient(),
                tokenVariable: String? = nil, dataLinkBatchSize: Int = 100) {
        self.name = name
        var base = tapURL
        while base.hasSuffix("/") { base.removeLast() }
        self.tapURL = base
        self.dataLinkBatchSize = max(1, dataLinkBatchSize)
        let advice = tokenVariable.map { "the token in \($0) is missing, expired or not authorised for it" }
            ?? "the service wants credentials; name the variable holding a token with 'token_env:'"
        connection = VOConnection(archiveName: name, client: client, credentials: credentials, refusalAdvice: advice)
    }

    var tap: TAPService { TAPService(baseURL: tapURL, connection: connection) }

    public func products(for entry: DatasetEntry) async throws(ArchiveError) -> [Product] {
        guard entry.ids.isEmpty, entry.pids.isEmpty, entry.obsids.isEmpty, entry.whereConditions.isEmpty, entry.mission == nil, entry.calibrations == nil else {
            throw .unsupportedRequest(archive: name, reason: "a vo archive takes only 'adql:', a query whose rows are ObsCore")
        }
        guard let adql = entry.adql else {
            throw .unsupportedRequest(archive: name, reason: "name the files with 'adql:', a query on ivoa.obscore selecting \(Self.requiredColumns.joined(separator: ", "))")
        }
        let rows = try await obsCoreRows(adql)
        let files = try await resolveDataLinks(rows)
        let heads = await headers(of: files.map(\.url))
        return try zip(files, heads).map { (file: ObsCoreFile, head: Result<HTTPResponse, ArchiveError>) throws(ArchiveError) -> Product in
            try product(file, head: head.get())
        }
    }

    /// Size, URL and access are what an ObsCore service publishes of a file.
    public func upstreamChanges(of locked: LockEntry, listed: Product?) -> [UpstreamChange] {
        UpstreamChange.differences(locked, listed, comparing: [.size, .url, .access])
    }

    // MARK: ObsCore rows

    /// The query's rows, sorted by `obs_publisher_did` then `access_url` (the lock never
    /// depends on the order a service sends), one per publisher DID and URL.
    func obsCoreRows(_ adql: String) async throws(ArchiveError) -> [ObsCoreFile] {
        let answer = try await tap.querySync(adql)
        let table = try answer.completeTable(archive: name)
        let missing = Self.requiredColumns.filter { table.column(named: $0) == nil }
        guard missing.isEmpty else {
            throw .unsupportedRequest(archive: name, reason: "the 'adql:' query's rows have no \(missing.joined(separator: ", ")) column\(missing.count == 1 ? "" : "s"); select them from ivoa.obscore")
        }
        var files: [ObsCoreFile] = []
        var seen: Set<[String]> = []
        for index in 0..<table.rowCount {
            let row = VORow(table: table, index: index)
            guard let did = row.string("obs_publisher_did"), let url = row.string("access_url"), !url.isEmpty else {
                throw .malformedAnswer(url: answer.url, reason: "row \(index + 1) has no obs_publisher_did or access_url")
            }
            guard seen.insert([did, url]).inserted else { continue }
            files.append(ObsCoreFile(did: did, obsID: row.string("obs_id") ?? did, accessURL: url, format: row.string("access_format"),
                                     calibLevel: row["calib_level"].flatMap(Self.level), collection: row.string("obs_collection"),
                                     url: url, size: nil))
        }
        return files.sorted { ($0.did, $0.accessURL) < ($1.did, $1.accessURL) }
    }

    /// `calib_level` as text (`2`), from an integer or a text cell.
    private static func level(_ value: VOValue) -> String? {
        if let number = value.integer { return String(number) }
        return value.string.flatMap { $0.isEmpty ? nil : $0 }
    }

    // MARK: DataLink

    /// Rows whose `access_format` is DataLink, resolved to their `#this` row's file and exact
    /// size; the DataLink endpoint is the `access_url` without its query, the ID its `ID`
    /// parameter (else the publisher DID). A DataLink answer without `#this` for a row is an error.
    func resolveDataLinks(_ rows: [ObsCoreFile]) async throws(ArchiveError) -> [ObsCoreFile] {
        var idsByEndpoint: [String: [String]] = [:]
        var linkOf: [Int: (endpoint: String, id: String)] = [:]
        for (index, row) in rows.enumerated() where row.format?.lowercased().contains(Self.dataLinkFormat) == true {
            let (endpoint, id) = Self.dataLinkRequest(row.accessURL, did: row.did)
            idsByEndpoint[endpoint, default: []].append(id)
            linkOf[index] = (endpoint, id)
        }
        guard !linkOf.isEmpty else { return rows }
        var answers: [String: DataLinkAnswer] = [:]
        for (endpoint, ids) in idsByEndpoint.sorted(by: { $0.key < $1.key }) {
            answers[endpoint] = try await DataLinkService(url: endpoint, connection: connection, batchSize: dataLinkBatchSize).links(for: ids)
        }
        var resolved = rows
        for (index, link) in linkOf {
            guard let this = answers[link.endpoint]?.this(for: link.id), let url = this.accessURL else {
                throw .malformedAnswer(url: HTTPClient.redactingUserInfo(link.endpoint), reason: "DataLink gave no #this file for \(link.id)")
            }
            resolved[index].url = url
            resolved[index].size = this.contentLength
        }
        return resolved
    }

    /// The DataLink endpoint of `accessURL` (without its query) and the ID it asks for.
    static func dataLinkRequest(_ accessURL: String, did: String) -> (endpoint: String, id: String) {
        guard var components = URLComponents(string: accessURL) else { return (accessURL, did) }
        let id = components.queryItems?.first { $0.name.uppercased() == "ID" }?.value ?? did
        components.query = nil
        return (components.string ?? accessURL, id)
    }

    // MARK: HEAD

    /// A HEAD answer for each of `urls`, in their order, asked all at once.
    private func headers(of urls: [String]) async -> [Result<HTTPResponse, ArchiveError>] {
        await withTaskGroup(of: (Int, Result<HTTPResponse, ArchiveError>).self) { group in
            for (index, url) in urls.enumerated() {
                group.addTask {
                    (index, await Result.of { () async throws(ArchiveError) in try await self.connection.send(url, method: "HEAD") })
                }
            }
            var outcomes: [(Int, Result<HTTPResponse, ArchiveError>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The product of `file`, named and sized by its HEAD answer: 404 or 410 is an error (the
    /// service lists a file it does not serve), 401 or 403 an exclusive file, another refusal
    /// of HEAD (405, 501) leaves the name to the URL and the size to the first download.
    private func product(_ file: ObsCoreFile, head: HTTPResponse) throws(ArchiveError) -> Product {
        if head.status == 404 || head.status == 410 { throw .httpStatus(url: HTTPClient.redactingUserInfo(file.url), status: head.status) }
        var size = file.size
        var filename: String?
        if head.isSuccess {
            if size == nil, let length = head.headers["content-length"].flatMap({ Int64($0) }), head.headers["content-encoding"] == nil { size = length }
            filename = head.headers["content-disposition"].flatMap(ServedFileName.fromContentDisposition)
        }
        let name = filename ?? ServedFileName.lastPathSegment(of: file.url) ?? file.obsID.split(separator: "/").last.map(String.init) ?? file.obsID
        let exclusive = head.status == 401 || head.status == 403
        return Product(archive: self.name, mission: file.collection, dataset: file.obsID, filename: name, uri: "vo:\(file.did)", url: file.url,
                       size: size, level: file.calibLevel, type: .science, access: exclusive ? .exclusive : .public, ownedByDataset: true)
    }
}

/// One ObsCore row and, once DataLink is asked, the file it points at.
struct ObsCoreFile: Sendable, Hashable {
    var did: String
    var obsID: String
    var accessURL: String
    var format: String?
    var calibLevel: String?
    var collection: String?
    /// The file's URL: `access_url`, or the DataLink `#this` row's.
    var url: String
    /// The exact size, from DataLink's `content_length`.
    var size: Int64?
}
