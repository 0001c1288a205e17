import DatapinTransfer
import Foundation

/// A TAP answer: the VOTable, its results table and its `QUERY_STATUS`.
public struct TAPAnswer: Sendable {
    /// The URL that answered (the sync endpoint, or the async job's result).
    public let url: String
    public let document: VOTableDocument
    /// The results table (empty when the answer has none).
    public let table: VOTable
    /// OK or OVERFLOW (an ERROR status is thrown, never returned).
    public let status: QueryStatus

    /// True when the service stopped at a row limit.
    public var isTruncated: Bool { status == .overflow }

    /// The table, refusing a truncated answer: a lock must never record part of a selection.
    public func completeTable(archive: String) throws(ArchiveError) -> VOTable {
        guard !isTruncated else {
            throw .truncated(archive: archive, rows: table.rowCount)
        }
        return table
    }
}

/// How long an async (UWS) query may take and how it is polled: each poll asks the job to
/// block with `WAIT` (at most `maximumWaitSeconds`, never past the budget); a poll answered
/// sooner than half its `WAIT` (a service that ignores it) is followed by `backoff`'s delay.
public struct UWSPolicy: Sendable, Hashable {
    /// The whole query, from job creation to its result, must finish within this budget.
    public var budgetSeconds: Double
    public var maximumWaitSeconds: Int
    public var backoff: StillExecutingPolicy

    public init(budgetSeconds: Double = 600, maximumWaitSeconds: Int = 30,
                backoff: StillExecutingPolicy = StillExecutingPolicy(initialDelaySeconds: 0.5, backoff: 1.5, maximumDelaySeconds: 10, maximumAttempts: 100_000)) {
        self.budgetSeconds = max(0, budgetSeconds)
        self.maximumWaitSeconds = max(1, maximumWaitSeconds)
        self.backoff = backoff
    }
}

/// A TAP service (`{base}/sync`, `{base}/async`) asked ADQL queries for VOTables.
public struct TAPService: Sendable {
    /// The service's base URL, without a trailing slash.
    public let baseURL: String
    public let connection: VOConnection

    public init(baseURL: String, connection: VOConnection) {
        var base = baseURL.trimmingCharacters(in: .whitespacesAndNewlines)
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.connection = connection
    }

    /// The form every query is sent with.
    static func queryForm(_ adql: String, maxRecords: Int?) -> [(String, String)] {
        var form = [("REQUEST", "doQuery"), ("LANG", "ADQL"), ("QUERY", adql), ("FORMAT", "votable"), ("RESPONSEFORMAT", "votable")]
        if let maxRecords { form.append(("MAXREC", String(maxRecords))) }
        return form
    }

    /// Runs `adql` synchronously: `POST {base}/sync`.
    public func querySync(_ adql: String, maxRecords: Int? = nil) async throws(ArchiveError) -> TAPAnswer {
        let url = baseURL + "/sync"
        let document = try await connection.votable(url, method: "POST", form: Self.queryForm(adql, maxRecords: maxRecords), what: "the TAP query")
        return Self.answer(document, url: url)
    }

    /// Runs `adql` as a UWS job: `POST {base}/async` (a 303 to the job), `PHASE=RUN`, polls
    /// `{job}?WAIT=N` within `policy`'s budget, reads the result, and deletes the job whatever
    /// happened (without following the 303 that a DELETE answers, which would delete the job
    /// list with the same verb).
    public func queryAsync(_ adql: String, maxRecords: Int? = nil, policy: UWSPolicy = UWSPolicy()) async throws(ArchiveError) -> TAPAnswer {
        let started = Date()
        let jobURL = try await createJob(adql, maxRecords: maxRecords)
        let result: Result<TAPAnswer, ArchiveError>
        do throws(ArchiveError) {
            result = .success(try await runJob(jobURL, started: started, policy: policy))
        } catch {
            result = .failure(error)
        }
        _ = try? await connection.send(jobURL, method: "DELETE", followsRedirects: false, timeoutSeconds: 60)
        return try result.get()
    }

    /// Creates the job and returns its URL: the `Location` of the 303 (or another redirect),
    /// else the job document's id under `{base}/async`.
    private func createJob(_ adql: String, maxRecords: Int?) async throws(ArchiveError) -> String {
        let url = baseURL + "/async"
        let response = try await connection.send(url, method: "POST", form: Self.queryForm(adql, maxRecords: maxRecords), followsRedirects: false)
        if (300..<400).contains(response.status) || response.status == 201, let location = response.headers["location"], !location.isEmpty {
            return URL(string: location, relativeTo: URL(string: url))?.absoluteString ?? location
        }
        if response.isSuccess, let job = try? UWSJob.parse(response.body) {
            return url + "/" + job.jobID
        }
        _ = try await connection.read(response, url: url, what: "the TAP query")
        throw .malformedAnswer(url: url, reason: "creating the job answered HTTP \(response.status) without the job's URL")
    }

    private func runJob(_ jobURL: String, started: Date, policy: UWSPolicy) async throws(ArchiveError) -> TAPAnswer {
        let run = try await connection.send(jobURL + "/phase", method: "POST", form: [("PHASE", "RUN")], followsRedirects: false)
        guard run.isSuccess || (300..<400).contains(run.status) else {
            _ = try await connection.read(run, url: jobURL + "/phase", what: "the TAP query")
            throw .httpStatus(url: jobURL + "/phase", status: run.status)
        }
        var polls = 0
        while true {
            let remaining = policy.budgetSeconds - Date().timeIntervalSince(started)
            let wait = max(1, min(policy.maximumWaitSeconds, Int(remaining.rounded(.down))))
            let asked = Date()
            let job = try await fetchJob(jobURL, wait: wait)
            polls += 1
            switch job.phase {
            case .completed:
                let resultURL = job.resultURL.map { URL(string: $0, relativeTo: URL(string: jobURL))?.absoluteString ?? $0 } ?? jobURL + "/results/result"
                let document = try await connection.votable(resultURL, method: "GET", what: "the TAP query")
                return Self.answer(document, url: resultURL)
            case .error:
                throw connection.queryFailed("the TAP query", job.errorMessage ?? "the job ended in ERROR without a message")
            case .aborted:
                throw .unreachable(url: jobURL, reason: "the service aborted the TAP job")
            case .unknown, .archived:
                throw .unreachable(url: jobURL, reason: "the TAP job is \(job.phase.rawValue) and has no result to read")
            case .pending, .queued, .executing, .held, .suspended:
                let left = policy.budgetSeconds - Date().timeIntervalSince(started)
                guard left > 0, polls < policy.backoff.maximumAttempts else {
                    throw .unreachable(url: jobURL, reason: "the TAP job was still \(job.phase.rawValue) after \(Int(policy.budgetSeconds.rounded())) s; try again later or narrow the query")
                }
                if Date().timeIntervalSince(asked) < Double(wait) / 2 {
                    try? await Task.sleep(nanoseconds: UInt64(min(left, policy.backoff.delay(after: polls)) * 1_000_000_000))
                }
            }
        }
    }

    /// `GET {job}?WAIT=wait`, read as a UWS job document.
    private func fetchJob(_ jobURL: String, wait: Int) async throws(ArchiveError) -> UWSJob {
        let separator = jobURL.contains("?") ? "&" : "?"
        let url = jobURL + separator + "WAIT=\(wait)"
        let response = try await connection.send(url, method: "GET", timeoutSeconds: wait + min(connection.timeoutSeconds, 60))
        if response.status == 401 || response.status == 403 {
            throw .notAuthorised(url: HTTPClient.redactingUserInfo(jobURL), status: response.status, advice: connection.refusalAdvice)
        }
        guard response.isSuccess else { throw .httpStatus(url: HTTPClient.redactingUserInfo(jobURL), status: response.status) }
        do {
            return try UWSJob.parse(response.body)
        } catch {
            throw .malformedAnswer(url: HTTPClient.redactingUserInfo(jobURL), reason: error.message)
        }
    }

    private static func answer(_ document: VOTableDocument, url: String) -> TAPAnswer {
        TAPAnswer(url: HTTPClient.redactingUserInfo(url), document: document, table: document.resultsTable ?? VOTable(fields: [], cells: []), status: document.queryStatus)
    }
}
