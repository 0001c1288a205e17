import DatapinTransfer
import Foundation

/// MAST's Portal API (`/api/v0/invoke`), service `Mast.Caom.Products`: the product lists of
/// CAOM observations of any collection. The service may answer `EXECUTING` while it works; the
/// same page is then asked for again (`StillExecutingPolicy`), a bounded number of times.
struct PortalProducts: Sendable {
    let connection: MASTConnection
    /// Rows asked for per page.
    let pageSize: Int
    /// How long to wait after an `EXECUTING` answer, and how many times one page is asked for
    /// before datapin gives up on the service.
    let polling: StillExecutingPolicy
    /// Pages one product list may take.
    let maximumPages: Int

    static let path = "/api/v0/invoke"

    /// Every product row of the observations `obsids`, page after page until `pagesFiltered`.
    /// An empty page before then, a page of only rows already read, or more than `maximumPages`
    /// pages is a malformed answer: the archive would never finish. Pages are asked one after
    /// another, so paging stops at the first page that shows such a fault.
    func productRows(of obsids: [String]) async throws(ArchiveError) -> [PortalProductRow] {
        let shownURL = HTTPClient.redactingUserInfo(connection.url(Self.path))
        var rows: [PortalProductRow] = []
        var received: Set<PortalProductRow> = []
        for page in 1... {
            if page > maximumPages {
                throw .malformedAnswer(url: shownURL, reason: "Mast.Caom.Products still had pages after \(maximumPages) pages (\(rows.count) rows); datapin stops here")
            }
            let answer = try await completedAnswer(obsids: obsids, page: page, shownURL: shownURL)
            let pageRows: [PortalProductRow]
            let pagesFiltered: Int64
            do {
                pageRows = try Self.readRows(answer)
                pagesFiltered = try answer.object("paging")?.integer("pagesFiltered") ?? 1
            } catch {
                throw .malformedAnswer(url: shownURL, reason: error.reason)
            }
            let isLast = Int64(page) >= pagesFiltered
            if pageRows.isEmpty, !isLast {
                throw .malformedAnswer(url: shownURL, reason: "pagesFiltered is \(pagesFiltered) but page \(page) has no rows")
            }
            var newRows = 0
            for row in pageRows where received.insert(row).inserted { newRows += 1 }
            if newRows == 0, !pageRows.isEmpty {
                throw .malformedAnswer(url: shownURL, reason: "page \(page) repeats only rows already received (\(pageRows[0].dataURI)…); paging would never finish")
            }
            rows += pageRows
            if isLast { break }
        }
        return rows
    }

    /// Page `page` once the service has finished it.
    private func completedAnswer(obsids: [String], page: Int, shownURL: String) async throws(ArchiveError) -> MASTJSONObject {
        let request: [String: Any] = [
            "service": "Mast.Caom.Products",
            "params": ["obsid": obsids.joined(separator: ",")],
            "format": "json",
            "pagesize": pageSize,
            "page": page,
        ]
        let requestText: String
        do {
            requestText = String(decoding: try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys]), as: UTF8.self)
        } catch {
            throw .unsupportedRequest(archive: connection.archiveName, reason: "the Portal request could not be written as JSON")
        }
        let connection = self.connection
        return try await polling.poll(service: "Mast.Caom.Products", shownURL: shownURL) { () async throws(ArchiveError) -> PollAnswer<MASTJSONObject> in
            let answer = try await connection.postForm(Self.path, [("request", requestText)])
            let status: String
            do throws(MASTShapeError) {
                status = try answer.string("status")?.uppercased() ?? "COMPLETE"
            } catch {
                throw .malformedAnswer(url: shownURL, reason: error.reason)
            }
            switch status {
            case "COMPLETE":
                return .done(answer)
            case "EXECUTING":
                return .stillExecuting
            case "ERROR":
                let message = MASTNormalisation.trimmed(try? answer.string("msg")) ?? "no reason given"
                throw .unreachable(url: shownURL, reason: "Mast.Caom.Products failed: \(message)")
            default:
                throw .malformedAnswer(url: shownURL, reason: "status is '\(status)', not COMPLETE, EXECUTING or ERROR")
            }
        }
    }

    /// The rows of one page's `data`.
    static func readRows(_ answer: MASTJSONObject) throws(MASTShapeError) -> [PortalProductRow] {
        guard let data = try answer.objects("data") else { throw MASTShapeError(reason: "data is missing") }
        var rows: [PortalProductRow] = []
        for row in data { rows.append(try PortalProductRow(row)) }
        return rows
    }
}
