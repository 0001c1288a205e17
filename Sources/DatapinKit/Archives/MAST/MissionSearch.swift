import DatapinSpec
import DatapinSupport
import DatapinTransfer
import Foundation

/// MAST's Mission Search API for one mission (`/search/<mission>/api/v0.1/`): dataset search
/// by conditions, paged, and product listings, batched.
struct MissionSearch: Sendable {
    let connection: MASTConnection
    /// Lowercased: `jwst`, `hst`, `roman`.
    let mission: String
    /// Rows asked for per search request.
    let pageSize: Int
    /// Dataset ids per `post_list_products` request.
    let batchSize: Int
    /// Search pages one listing may take.
    let maximumPages: Int

    /// The missions whose dataset-id column and download endpoint datapin knows.
    static let datasetColumns = ["jwst": "fileSetName", "roman": "fileSetName", "hst": "sci_data_set_name"]

    private var apiPath: String {
        "/search/\(mission.addingPercentEncoding(withAllowedCharacters: MASTConnection.unreserved) ?? mission)/api/v0.1"
    }

    /// The mission's dataset-id column; a mission datapin does not know is an unsupported request.
    private func datasetColumn() throws(ArchiveError) -> String {
        guard let column = Self.datasetColumns[mission] else {
            throw .unsupportedRequest(archive: connection.archiveName, reason: "datapin knows the Mission Search missions \(Self.datasetColumns.keys.sorted().joined(separator: ", ")), not '\(mission)'")
        }
        return column
    }

    /// The dataset ids matching every condition, sorted by dataset id (offset paging over an
    /// unordered result could skip or repeat rows), reading page after page until
    /// `totalResults` rows are read. An empty page before then, a page of only rows already
    /// read, or more than `maximumPages` pages is a malformed answer: the archive would never
    /// finish.
    /// Pages are asked one after another: each page's offset and its checks depend on the pages
    /// before it.
    func datasetIDs(matching conditions: [WhereCondition]) async throws(ArchiveError) -> [String] {
        let column = try datasetColumn()
        let path = apiPath + "/search"
        let shownURL = HTTPClient.redactingUserInfo(connection.url(path))
        let conditionObjects: [[String: Any]] = conditions.map { [$0.name: $0.values.joined(separator: ",")] }
        var ids: [String] = []
        var received: Set<String> = []
        var offset = 0
        var announced: Int64 = 0
        for pageNumber in 1... {
            if pageNumber > maximumPages {
                throw .malformedAnswer(url: shownURL, reason: "the search was still not finished after \(maximumPages) pages (\(offset) of the \(announced) rows totalResults announces); datapin stops here")
            }
            let body: [String: Any] = [
                "limit": pageSize, "offset": offset, "conditions": conditionObjects,
                "select_cols": NSNull(), "sort_by": [column], "sort_desc": [false],
            ]
            let answer = try await connection.postJSON(path, body)
            let page: (total: Int64, ids: [String])
            do {
                page = try Self.readSearchPage(answer, column: column)
            } catch {
                throw .malformedAnswer(url: shownURL, reason: error.reason)
            }
            announced = page.total
            if page.ids.isEmpty, offset < page.total {
                throw .malformedAnswer(url: shownURL, reason: "totalResults is \(page.total) but the page at offset \(offset) has no rows")
            }
            var newRows = 0
            for id in page.ids where received.insert(id).inserted { newRows += 1 }
            if newRows == 0, !page.ids.isEmpty {
                throw .malformedAnswer(url: shownURL, reason: "the page at offset \(offset) repeats only rows already received (\(page.ids[0])…); paging would never finish")
            }
            ids += page.ids
            offset += page.ids.count
            if offset >= page.total { break }
        }
        return ids
    }

    /// One search answer: `totalResults` and the dataset ids of its `results`.
    static func readSearchPage(_ answer: MASTJSONObject, column: String) throws(MASTShapeError) -> (total: Int64, ids: [String]) {
        let rows = try answer.objects("results") ?? []
        guard let total = try answer.integer("totalResults") else { throw MASTShapeError(reason: "totalResults is missing") }
        var ids: [String] = []
        for row in rows { ids.append(try row.requiredString(column)) }
        return (total, ids)
    }

    /// The product rows of `datasetIDs`, asked for in batches of `batchSize`, all batches at
    /// once (the client's limiter bounds them), gathered in batch order. When batches fail,
    /// the first failing batch's error is thrown.
    func productRows(of datasetIDs: [String]) async throws(ArchiveError) -> [MissionProductRow] {
        _ = try datasetColumn()
        let path = apiPath + "/post_list_products"
        let shownURL = HTTPClient.redactingUserInfo(connection.url(path))
        let size = max(1, batchSize)
        let batches = stride(from: 0, to: datasetIDs.count, by: size).map { Array(datasetIDs[$0..<min($0 + size, datasetIDs.count)]) }
        let connection = self.connection
        let answers = await withTaskGroup(of: (Int, Result<[MissionProductRow], ArchiveError>).self) { group in
            for (number, batch) in batches.enumerated() {
                group.addTask {
                    (number, await Result.of { () async throws(ArchiveError) in
                        let answer = try await connection.postJSON(path, ["dataset_ids": batch])
                        do throws(MASTShapeError) {
                            return try Self.readProducts(answer)
                        } catch {
                            throw .malformedAnswer(url: shownURL, reason: error.reason)
                        }
                    })
                }
            }
            var results = [Result<[MissionProductRow], ArchiveError>?](repeating: nil, count: batches.count)
            for await (number, result) in group { results[number] = result }
            return results.compactMap { $0 }
        }
        var rows: [MissionProductRow] = []
        for answer in answers { rows += try answer.get() }
        return rows
    }

    /// The rows of one `{"products": [...]}` answer (a list nested in a list is flattened, as
    /// MAST sometimes answers).
    static func readProducts(_ answer: MASTJSONObject) throws(MASTShapeError) -> [MissionProductRow] {
        guard let value = answer.fields["products"], !(value is NSNull) else { throw MASTShapeError(reason: "products is missing") }
        guard var list = value as? [Any] else { throw MASTShapeError(reason: "products is not a list") }
        if list.first is [Any] { list = list.flatMap { $0 as? [Any] ?? [$0] } }
        var rows: [MissionProductRow] = []
        for (index, element) in list.enumerated() {
            rows.append(try MissionProductRow(MASTJSONObject(element, path: "products[\(index)]")))
        }
        return rows
    }
}
