import DatapinSupport
import DatapinTransfer
import Foundation

/// One DataLink row that links somewhere: a file (`access_url`) or a service descriptor
/// (`service_def`). Rows with an `error_message` are thrown as errors, never returned.
public struct DataLinkRow: Sendable {
    /// Where a row points.
    public enum Target: Sendable, Hashable {
        case accessURL(String)
        /// The `ID` of a `RESOURCE type="meta"` service descriptor in the same answer.
        case serviceDef(String)
    }

    /// The `ID` the row answers (the input identifier, verbatim).
    public let id: String
    public let target: Target
    /// `#this`, `#calibration`, `#preview`, or a vocabulary URI such as ESO's `…eso#night_log`.
    public let semantics: String?
    public let description: String?
    public let contentType: String?
    /// `content_length` in bytes, read through its FIELD's unit; nil when null or absent.
    public let contentLength: Int64?
    /// The whole row, for a service's own columns (ESO's `eso_origfile`, `eso_category` …).
    public let row: VORow

    /// The `access_url`, when the row has one.
    public var accessURL: String? {
        if case .accessURL(let url) = target { return url }
        return nil
    }
}

/// A DataLink answer for many IDs: each ID's rows in the order the service sent them, and the
/// service descriptors the rows name.
public struct DataLinkAnswer: Sendable {
    /// The IDs asked, without repeats, in the order asked.
    public let ids: [String]
    private let rowsByID: [String: [DataLinkRow]]
    /// Service descriptors by their `ID`.
    public let serviceDescriptors: [String: VOResource]
    /// How many requests it took (more than the batches when a service answered OVERFLOW).
    public let requests: Int

    init(ids: [String], rowsByID: [String: [DataLinkRow]], serviceDescriptors: [String: VOResource], requests: Int) {
        self.ids = ids
        self.rowsByID = rowsByID
        self.serviceDescriptors = serviceDescriptors
        self.requests = requests
    }

    /// The rows of `id`.
    public func links(for id: String) -> [DataLinkRow] { rowsByID[id] ?? [] }

    /// The `#this` row of `id` (the dataset itself), if any.
    public func this(for id: String) -> DataLinkRow? { links(for: id).first { $0.semantics == "#this" } }
}

/// A DataLink `links` endpoint asked for many IDs per POST (`ID=…&ID=…`), in batches sent at
/// once (the run's `HostLimiter` bounds them per host). A batch answered with OVERFLOW is
/// asked again for its IDs not yet answered (a service never splits one ID's rows).
public struct DataLinkService: Sendable {
    /// The `links` endpoint (`https://archive.eso.org/datalink/links`).
    public let url: String
    public let connection: VOConnection
    /// IDs per request.
    public let batchSize: Int

    public init(url: String, connection: VOConnection, batchSize: Int = 100) {
        self.url = url
        self.connection = connection
        self.batchSize = max(1, batchSize)
    }

    /// Every link of every one of `ids`. An `error_message` row is an error naming its ID
    /// (`NotFoundFault` is `.unknownDataset`); a row with none, or more than one, of
    /// `access_url`, `service_def`, `error_message` is a malformed answer.
    public func links(for ids: [String]) async throws(ArchiveError) -> DataLinkAnswer {
        var seen = Set<String>()
        let unique = ids.filter { seen.insert($0).inserted }
        let batches = stride(from: 0, to: unique.count, by: batchSize).map { Array(unique[$0..<min(unique.count, $0 + batchSize)]) }
        let outcomes = await withTaskGroup(of: (Int, Result<BatchAnswer, ArchiveError>).self) { group in
            for (index, batch) in batches.enumerated() {
                group.addTask {
                    (index, await Result.of { () async throws(ArchiveError) in try await self.answer(batch) })
                }
            }
            var outcomes: [(Int, Result<BatchAnswer, ArchiveError>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var rowsByID: [String: [DataLinkRow]] = [:]
        var descriptors: [String: VOResource] = [:]
        var requests = 0
        for outcome in outcomes {
            let batch = try outcome.get()
            rowsByID.merge(batch.rowsByID) { first, _ in first }
            descriptors.merge(batch.serviceDescriptors) { first, _ in first }
            requests += batch.requests
        }
        return DataLinkAnswer(ids: unique, rowsByID: rowsByID, serviceDescriptors: descriptors, requests: requests)
    }

    private struct BatchAnswer: Sendable {
        var rowsByID: [String: [DataLinkRow]] = [:]
        var serviceDescriptors: [String: VOResource] = [:]
        var requests = 0
    }

    /// One batch, asked again while the service answers OVERFLOW.
    private func answer(_ batch: [String]) async throws(ArchiveError) -> BatchAnswer {
        let shownURL = HTTPClient.redactingUserInfo(url)
        var answer = BatchAnswer()
        var remaining = batch
        while !remaining.isEmpty {
            let document = try await connection.votable(url, method: "POST", form: remaining.map { ("ID", $0) }, what: "DataLink")
            answer.requests += 1
            for descriptor in document.serviceDescriptors {
                if let id = descriptor.id { answer.serviceDescriptors[id] = descriptor }
            }
            let asked = Set(remaining)
            var answered = Set<String>()
            if let table = document.resultsTable {
                for row in try rows(of: table, shownURL: shownURL) {
                    guard asked.contains(row.id) else {
                        throw .malformedAnswer(url: shownURL, reason: "it has rows for the ID '\(row.id)', which was not asked")
                    }
                    answered.insert(row.id)
                    answer.rowsByID[row.id, default: []].append(row)
                }
            }
            let unanswered = remaining.filter { !answered.contains($0) }
            guard document.queryStatus == .overflow else {
                if let missing = unanswered.first {
                    throw .malformedAnswer(url: shownURL, reason: "it has no row for the ID '\(missing)'\(unanswered.count > 1 ? " (nor for \(unanswered.count - 1) more)" : "")")
                }
                break
            }
            guard !answered.isEmpty else {
                throw .malformedAnswer(url: shownURL, reason: "it answered OVERFLOW without a single row, so asking again would never end")
            }
            remaining = unanswered
        }
        return answer
    }

    /// The table's rows, checked: exactly one of `access_url`, `service_def`, `error_message`.
    private func rows(of table: VOTable, shownURL: String) throws(ArchiveError) -> [DataLinkRow] {
        guard let idColumn = table.column(named: "ID") else {
            throw .malformedAnswer(url: shownURL, reason: VOTableError.missingColumn("ID").message)
        }
        let lengthColumn = table.column(named: "content_length")
        return try table.rows.map { (row: VORow) throws(ArchiveError) -> DataLinkRow in
            guard let id = row[column: idColumn].string else {
                throw .malformedAnswer(url: shownURL, reason: "row \(row.index + 1) has no ID")
            }
            let access = row.string("access_url")
            let service = row.string("service_def")
            let error = row.string("error_message")
            let present = [access, service, error].compactMap { $0 }.count
            guard present == 1 else {
                throw .malformedAnswer(url: shownURL, reason: "row \(row.index + 1) (ID '\(id)') has \(present) of access_url, service_def and error_message; DataLink rows have exactly one")
            }
            if let error { throw Self.linkError(error, id: id, archive: connection.archiveName, shownURL: shownURL) }
            var length: Int64?
            if let lengthColumn {
                do throws(VOTableError) {
                    length = try table.bytes(row: row.index, column: lengthColumn, unitIfMissing: VOSize.byteUnit)
                } catch {
                    throw .malformedAnswer(url: shownURL, reason: error.message)
                }
            }
            return DataLinkRow(id: id, target: access.map { .accessURL($0) } ?? .serviceDef(service ?? ""), semantics: row.string("semantics"),
                               description: row.string("description"), contentType: row.string("content_type"), contentLength: length, row: row)
        }
    }

    /// The error for an `error_message` row: `NotFoundFault` means the archive has no such
    /// dataset, `TransientFault` that it cannot answer now; any other fault is a refusal.
    static func linkError(_ message: String, id: String, archive: String, shownURL: String) -> ArchiveError {
        let fault = message.prefix { $0 != ":" }.trimmingCharacters(in: .whitespaces)
        switch fault {
        case "NotFoundFault": return .unknownDataset(archive: archive, dataset: id)
        case "TransientFault": return .unreachable(url: shownURL, reason: "DataLink cannot answer for the ID '\(id)' now (\(message))")
        default: return .unsupportedRequest(archive: archive, reason: "DataLink answered an error for the ID '\(id)': \(message)")
        }
    }
}
