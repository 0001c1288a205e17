import Foundation
import Synchronization

/// A loopback IVOA service for tests: TAP sync (`POST /tap/sync`), TAP async as UWS
/// (`POST /tap/async` → 303 to `/tap/async/N`, `POST …/phase`, `GET …?WAIT=`, `GET
/// …/results/result`, `DELETE` → 303 to the job list) and DataLink (`GET` or `POST
/// /datalink/links` with repeated `ID`s, capped per answer with OVERFLOW), and files at any other path it is
/// told to serve (GET with `Range`, HEAD, `Content-Disposition`, a Bearer token). Answers at
/// once: `WAIT` is recorded, not honoured.
public final class FakeTAP: Sendable {
    /// One DataLink row of an ID: exactly one of `accessURL`, `serviceDef`, `errorMessage`
    /// should be set (a test may set more, to see it refused).
    public struct Link: Sendable {
        public var accessURL: String?
        public var serviceDef: String?
        public var errorMessage: String?
        public var semantics: String
        public var contentType: String?
        public var contentLength: Int64?
        public var origfile: String?

        public init(accessURL: String? = nil, serviceDef: String? = nil, errorMessage: String? = nil, semantics: String = "#this",
                    contentType: String? = nil, contentLength: Int64? = nil, origfile: String? = nil) {
            self.accessURL = accessURL
            self.serviceDef = serviceDef
            self.errorMessage = errorMessage
            self.semantics = semantics
            self.contentType = contentType
            self.contentLength = contentLength
            self.origfile = origfile
        }
    }

    /// A file the fake serves (GET with `Range`, and HEAD) at its path.
    public struct ServedFile: Sendable {
        public var bytes: Data
        /// The `Content-Disposition` header, when the service sends one.
        public var contentDisposition: String?
        /// Served only to a request with `Authorization: Bearer <token>`; 401 otherwise.
        public var token: String?
        /// HEAD answers 405, as some services' file endpoints do.
        public var refusesHEAD: Bool

        public init(_ bytes: Data, contentDisposition: String? = nil, token: String? = nil, refusesHEAD: Bool = false) {
            self.bytes = bytes
            self.contentDisposition = contentDisposition
            self.token = token
            self.refusesHEAD = refusesHEAD
        }
    }

    /// Written in answers and links where the fake's own base URL (`http://127.0.0.1:PORT`)
    /// belongs, and replaced by it when they are sent.
    public static let basePlaceholder = "{base}"

    /// How the fake behaves.
    public struct Options: Sendable {
        /// ADQL text → the VOTable `/sync` and an async job's result answer; another query gets
        /// HTTP 400 with an ERROR VOTable naming it.
        public var answers: [String: String]
        /// Polls of a job that answer EXECUTING before it is COMPLETED.
        public var executingPolls: Int
        /// When set, a job ends in ERROR with this `errorSummary/message`.
        public var jobError: String?
        /// When true, a job stays EXECUTING for ever.
        public var neverFinishes: Bool
        /// Every request answers 401.
        public var refusesEveryone: Bool
        /// DataLink rows by ID, in answer order.
        public var links: [String: [Link]]
        /// At most this many IDs answered per DataLink request; OVERFLOW when more were asked.
        public var linkCap: Int?

        public init(answers: [String: String] = [:], executingPolls: Int = 2, jobError: String? = nil, neverFinishes: Bool = false,
                    refusesEveryone: Bool = false, links: [String: [Link]] = [:], linkCap: Int? = nil) {
            self.answers = answers
            self.executingPolls = executingPolls
            self.jobError = jobError
            self.neverFinishes = neverFinishes
            self.refusesEveryone = refusesEveryone
            self.links = links
            self.linkCap = linkCap
        }
    }

    private struct Job {
        var query: String
        var started = false
        var polls = 0
        var deleted = false
    }

    private struct State {
        var baseURL = ""
        var answers: [String: String] = [:]
        var files: [String: ServedFile] = [:]
        var jobs: [Int: Job] = [:]
        var waits: [String] = []
        var jobListRequests = 0
    }

    /// The fake's shared state, behind a lock.
    private final class Book: Sendable {
        let state = Mutex(State())

        func withLock<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
    }

    private let server: LoopbackServer
    private let state: Book

    public init(_ options: Options) throws {
        let state = Book()
        self.state = state
        server = try LoopbackServer { request in FakeTAP.answer(request, options: options, state: state) }
        let base = server.baseURL
        state.withLock {
            $0.baseURL = base
            $0.answers = options.answers
        }
    }

    /// Answers `query` with `votable` from now on (`{base}` replaced by the fake's base URL).
    public func answer(_ query: String, with votable: String) {
        state.withLock { $0.answers[query] = votable }
    }

    /// Serves `file` at `path` (`/files/a.fits`) from now on.
    public func serve(_ file: ServedFile, at path: String) {
        state.withLock { $0.files[path] = file }
    }

    deinit { server.shutdown() }

    /// The TAP service's base URL (`http://127.0.0.1:PORT/tap`).
    public var tapURL: String { server.baseURL + "/tap" }
    /// The DataLink `links` endpoint.
    public var dataLinkURL: String { server.baseURL + "/datalink/links" }
    /// Every request received, in order.
    public var requests: [LoopbackRequest] { server.requests }
    /// The `WAIT` value of every job poll, in order.
    public var waits: [String] { state.withLock { $0.waits } }
    /// Requests to the job list (`/tap/async` itself, by any verb but the POST that creates a job).
    public var jobListRequests: Int { state.withLock { $0.jobListRequests } }
    /// The ids of the jobs deleted.
    public var deletedJobs: [Int] { state.withLock { $0.jobs.filter(\.value.deleted).map(\.key).sorted() } }

    /// Stops the server.
    public func shutdown() { server.shutdown() }

    /// The fields of a form body, in order, repeats kept.
    public static func formItems(_ request: LoopbackRequest) -> [(name: String, value: String)] {
        LoopbackRequest(method: "GET", uri: "/?" + request.bodyText, headers: [], body: Data()).queryItems
    }

    private static func answer(_ request: LoopbackRequest, options: Options, state: Book) -> LoopbackResponse {
        if options.refusesEveryone { return .status(401, body: "who are you?") }
        let path = request.path
        let form = formItems(request)
        let base = state.withLock { $0.baseURL }
        switch (request.method, path) {
        case ("POST", "/tap/sync"):
            return queryAnswer(form.last { $0.name == "QUERY" }?.value ?? "", state: state)
        case ("POST", "/tap/async"):
            let query = form.last { $0.name == "QUERY" }?.value ?? ""
            let id = state.withLock { state in
                let id = (state.jobs.keys.max() ?? 0) + 1
                state.jobs[id] = Job(query: query)
                return id
            }
            return .redirect(to: "\(base)/tap/async/\(id)", status: 303)
        case (_, "/tap/async"):
            state.withLock { $0.jobListRequests += 1 }
            return .text("<uws:jobs xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\"/>", contentType: "text/xml")
        case ("POST", "/datalink/links"):
            return links(form.filter { $0.name == "ID" }.map(\.value), options: options, base: base)
        case ("GET", "/datalink/links"):
            return links(request.queryItems.filter { $0.name == "ID" }.map(\.value), options: options, base: base)
        default:
            break
        }
        if let file = state.withLock({ $0.files[path] }) { return serve(file, request) }
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[0] == "tap", parts[1] == "async", let id = Int(parts[2]) else { return .status(404) }
        let jobURL = "\(base)/tap/async/\(id)"
        let rest = Array(parts.dropFirst(3))
        return state.withLock { state -> LoopbackResponse in
            guard var job = state.jobs[id], !job.deleted else { return .status(404) }
            defer { state.jobs[id] = job }
            switch (request.method, rest) {
            case ("POST", ["phase"]):
                if form.contains(where: { $0.name == "PHASE" && $0.value == "RUN" }) { job.started = true }
                return .redirect(to: jobURL, status: 303)
            case ("GET", []):
                state.waits.append(request.query["WAIT"] ?? "")
                job.polls += 1
                let phase: String
                if !job.started {
                    phase = "PENDING"
                } else if options.neverFinishes || job.polls <= options.executingPolls {
                    phase = "EXECUTING"
                } else {
                    phase = options.jobError == nil ? "COMPLETED" : "ERROR"
                }
                return .text(jobDocument(id: id, phase: phase, query: job.query, resultURL: "\(jobURL)/results/result", error: options.jobError), contentType: "text/xml")
            case ("GET", ["results", "result"]):
                return queryAnswer(job.query, answers: state.answers, base: base)
            case ("DELETE", []):
                job.deleted = true
                return .redirect(to: "\(base)/tap/async", status: 303)
            default:
                return .status(405)
            }
        }
    }

    private static func queryAnswer(_ query: String, state: Book) -> LoopbackResponse {
        let (answers, base) = state.withLock { ($0.answers, $0.baseURL) }
        return queryAnswer(query, answers: answers, base: base)
    }

    private static func queryAnswer(_ query: String, answers: [String: String], base: String) -> LoopbackResponse {
        guard let answer = answers[query] else {
            return .votable(errorVOTable("Query syntax error: no such query in this fake: \(query)"), status: 400)
        }
        return .votable(answer.replacingOccurrences(of: basePlaceholder, with: base))
    }

    /// A served file: 401 without its token, 405 for a HEAD it refuses, else its bytes (ranges
    /// honoured) with its `Content-Disposition`.
    private static func serve(_ file: ServedFile, _ request: LoopbackRequest) -> LoopbackResponse {
        guard request.method == "GET" || request.method == "HEAD" else { return .status(405, headers: [("Allow", "GET, HEAD")]) }
        if let token = file.token, request.header("Authorization") != "Bearer \(token)" {
            return .status(401, body: "this file is proprietary", headers: [("WWW-Authenticate", "Bearer")])
        }
        if request.method == "HEAD" && file.refusesHEAD { return .status(405, headers: [("Allow", "GET")]) }
        var response = LoopbackResponse.serving(file.bytes, for: request)
        if let disposition = file.contentDisposition { response.headers.append(("Content-Disposition", disposition)) }
        return response
    }

    /// A VOTable whose only content is an ERROR status with `message`, as a TAP service answers a bad query.
    public static func errorVOTable(_ message: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">\
        <INFO name="QUERY_STATUS" value="ERROR">\(escaped(message))</INFO></RESOURCE></VOTABLE>
        """
    }

    private static func jobDocument(id: Int, phase: String, query: String, resultURL: String, error: String?) -> String {
        let results = phase == "COMPLETED" ? "<uws:result id=\"result\" xlink:href=\"\(escaped(resultURL))\"/>" : ""
        let summary = phase == "ERROR" ? "<uws:errorSummary type=\"fatal\" hasDetail=\"false\"><uws:message>\(escaped(error ?? ""))</uws:message></uws:errorSummary>" : ""
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1">
          <uws:jobId>\(id)</uws:jobId>
          <uws:phase>\(phase)</uws:phase>
          <uws:parameters><uws:parameter id="query">\(escaped(query))</uws:parameter></uws:parameters>
          <uws:results>\(results)</uws:results>\(summary)
        </uws:job>
        """
    }

    private static func links(_ ids: [String], options: Options, base: String) -> LoopbackResponse {
        let answered = options.linkCap.map { Array(ids.prefix($0)) } ?? ids
        var rows = ""
        var descriptors: Set<String> = []
        for id in answered {
            for link in options.links[id] ?? [.init(errorMessage: "NotFoundFault: \(id) is not known here")] {
                let cells = [id, link.accessURL?.replacingOccurrences(of: basePlaceholder, with: base), link.serviceDef, link.errorMessage, link.semantics, link.contentType, link.contentLength.map(String.init), link.origfile]
                rows += "<TR>" + cells.map { $0.map { "<TD>\(escaped($0))</TD>" } ?? "<TD/>" }.joined() + "</TR>\n"
                if let service = link.serviceDef { descriptors.insert(service) }
            }
        }
        let overflow = answered.count < ids.count ? "<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>" : ""
        let services = descriptors.sorted().map {
            "<RESOURCE type=\"meta\" utype=\"adhoc:service\" ID=\"\(escaped($0))\"><PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"*\" value=\"http://127.0.0.1/soda\"/></RESOURCE>"
        }.joined()
        let text = """
        <?xml version="1.0" encoding="UTF-8"?>
        <VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">
        <INFO name="QUERY_STATUS" value="OK"/><TABLE>
        <FIELD name="ID" datatype="char" arraysize="*"/><FIELD name="access_url" datatype="char" arraysize="*"/>
        <FIELD name="service_def" datatype="char" arraysize="*"/><FIELD name="error_message" datatype="char" arraysize="*"/>
        <FIELD name="semantics" datatype="char" arraysize="*"/><FIELD name="content_type" datatype="char" arraysize="*"/>
        <FIELD name="content_length" datatype="long" unit="byte"/><FIELD name="eso_origfile" datatype="char" arraysize="*"/>
        <DATA><TABLEDATA>
        \(rows)</TABLEDATA></DATA></TABLE>\(overflow)</RESOURCE>\(services)</VOTABLE>
        """
        return .votable(text)
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
