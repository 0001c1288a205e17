import Foundation
import Synchronization

/// The ESO archive on loopback, speaking what ../shared/ARCHIVES.md's ESO section describes and
/// what pyvo and astroquery.eso speak (scripts/check-fake-eso proves it):
///
/// - TAP at `/tap_obs`: `sync` (GET or POST, `REQUEST=doQuery&LANG=ADQL&QUERY=…&MAXREC=…`) and
///   UWS `async` (POST → 303 to `/tap_obs/async/<job>`, `phase` `PHASE=RUN|ABORT`, the job with
///   `WAIT`, `results/result`, DELETE → 303 to the job list), `capabilities`. It understands
///   `SELECT [TOP n] <* | columns> FROM dbo.raw | ivoa.ObsCore [WHERE dp_id IN ('…', …) |
///   WHERE dp_id = '…'] [ORDER BY <column> [ASC|DESC]]`; rows past MAXREC are cut and marked
///   OVERFLOW after the table (MAXREC defaults to `defaultMaxrec`, never exceeds `maxrecLimit`); any other query answers 400 with QUERY_STATUS ERROR.
/// - DataLink at `/datalink/links` (GET with repeated `ID`, or POST): per ID the `#this` row
///   (`eso_origfile`, exact `content_length`, `access_url`, `last_mod_date`), the calSelector
///   Raw2Raw and Raw2Master rows and the night log of a science frame; a `NotFoundFault` row
///   for an unknown ID; more IDs than `datalinkIDLimit` are cut at a whole ID with OVERFLOW;
///   with `datalinkRefusesProprietary`, a 401 for a request naming a proprietary dp_id
///   without a valid token.
/// - calSelector at `/calselector/v1/associations` (GET or POST, repeated `dp_id`,
///   `mode=Raw2Raw|Raw2Master` in any case): with `responseformat=votable` a DataLink-shaped
///   VOTable (`#this` with `category certified complete mode type messages` in its description,
///   the ASSOCIATION_TREE row, `#calibration` and `eso#sibling_raw` rows); without, the XML tree
///   (one id) or a multipart answer (several, in reverse request order, as the fixture has them).
/// - The OIDC token endpoint `/sso/oidc/token` (GET or POST, `grant_type=password`,
///   `client_id=clientid`): `{access_token, id_token, token_type, expires_in, scope}` whose
///   `id_token` is a JWT living `tokenLifetime` seconds; a wrong password answers 401 with a
///   body that is not JSON.
/// - The data portal `/dataPortal/file/<dp_id>` (GET, HEAD, `Range`), `Content-Disposition:
///   attachment; filename="<name>"`; proprietary frames answer 401 without a valid
///   `Authorization: Bearer <id_token>` (or Basic with the password).
///
/// Every request is recorded (`requests`), so tests can check which carried `Authorization`.
public final class FakeESO: Sendable {
    /// What the archive holds and how it behaves; change it while running with `update`.
    public struct Configuration: Sendable {
        /// The rows of `dbo.raw` and `ivoa.ObsCore`; files named only in their association
        /// trees are served too (as CALIB frames) but are not rows.
        public var frames: [Frame]
        /// dp_ids whose files need a valid bearer token (or Basic auth).
        public var proprietary: Set<String>
        public var username: String
        public var password: String
        /// Seconds from a grant to its id_token's `exp` (ESO: 28800); negative for tokens born expired.
        public var tokenLifetime: Int
        /// Milliseconds added to every answer (the headers go at once, the body after it).
        public var answerDelayMilliseconds: Int
        /// MAXREC when the client sends none.
        public var defaultMaxrec: Int
        /// The most rows any answer holds, whatever MAXREC asks.
        public var maxrecLimit: Int
        /// How many times a running async job answers EXECUTING before it is COMPLETED.
        public var executingPolls: Int
        /// The most IDs one DataLink request answers (then OVERFLOW); nil for no limit.
        public var datalinkIDLimit: Int?
        /// dp_ids whose download answers an HTML login page (200, text/html) instead of the file.
        public var loginPageInsteadOf: Set<String>
        /// dp_ids whose FITS header is rewritten between downloads: every GET serves another
        /// header (same size), as ESO's header-on-the-fly corrections do.
        public var rewritesHeaders: Set<String>
        /// dp_ids whose first whole download (a GET without Range) is cut after this many bytes.
        public var cutFirstDownload: [String: Int]
        /// dp_ids whose next whole download, whenever it comes, is cut after this many bytes
        /// (once: the cut is then forgotten).
        public var cutNextDownload: [String: Int]
        /// dp_ids whose header ESO corrects on the fly for whole downloads only: a Range request
        /// serves the uncorrected file's bytes (same size, another header), so a resumed
        /// download mixes two versions.
        public var rangesServeUncorrectedHeader: Set<String>
        /// DataLink refuses (401) a request naming a proprietary dp_id without a valid token, as
        /// the portal does, instead of listing it.
        public var datalinkRefusesProprietary: Bool
        /// The data portal's base in DataLink's and calSelector's `access_url` (another host, say);
        /// nil for `baseURL`.
        public var portalURL: String?

        public init(frames: [Frame], proprietary: Set<String> = [], username: String = "ada", password: String = "correct horse",
                    tokenLifetime: Int = 28800, answerDelayMilliseconds: Int = 0, defaultMaxrec: Int = 10000, maxrecLimit: Int = 1_000_000, executingPolls: Int = 1,
                    datalinkIDLimit: Int? = nil, loginPageInsteadOf: Set<String> = [], rewritesHeaders: Set<String> = [], cutFirstDownload: [String: Int] = [:], cutNextDownload: [String: Int] = [:],
                    rangesServeUncorrectedHeader: Set<String> = [], datalinkRefusesProprietary: Bool = false, portalURL: String? = nil) {
            self.frames = frames
            self.proprietary = proprietary
            self.username = username
            self.password = password
            self.tokenLifetime = tokenLifetime
            self.answerDelayMilliseconds = answerDelayMilliseconds
            self.defaultMaxrec = defaultMaxrec
            self.maxrecLimit = maxrecLimit
            self.executingPolls = executingPolls
            self.datalinkIDLimit = datalinkIDLimit
            self.loginPageInsteadOf = loginPageInsteadOf
            self.rewritesHeaders = rewritesHeaders
            self.cutFirstDownload = cutFirstDownload
            self.cutNextDownload = cutNextDownload
            self.rangesServeUncorrectedHeader = rangesServeUncorrectedHeader
            self.datalinkRefusesProprietary = datalinkRefusesProprietary
            self.portalURL = portalURL
        }

        /// The fixtures' two FORS2 frames and their recorded Raw2Raw trees.
        public static func fors2() throws -> Configuration { Configuration(frames: try FakeESO.fors2Frames()) }
    }

    /// A file the data portal serves, from a frame or from a tree.
    struct CatalogueFile: Sendable {
        var dpID: String
        var filename: String
        var size: Int
        /// calSelector's category (SCIENCE_IMG, BIAS, …), else the frame's dp_cat.
        var category: String
        var lastModified: String
        var bytes: Data?
        var frame: Frame?
    }

    /// One UWS job.
    struct Job: Sendable {
        var id: String
        var query: String
        var maxrec: String?
        var phase: String
        var pollsLeft: Int
        var created: String
    }

    struct State: Sendable {
        var configuration: Configuration
        var files: [String: CatalogueFile] = [:]
        var jobs: [String: Job] = [:]
        var jobsCreated = 0
        var downloads: [String: Int] = [:]
        /// Every id_token granted, oldest first, and when each expires.
        var issued: [String] = []
        var expiries: [String: Int] = [:]
    }

    /// The boundary of calSelector's multipart answers (the fixture's).
    public static let multipartBoundary = "uFQlfs9nBIDEAIoz0_ZM-O2SXKsZ2iSd4h7H"
    /// ESO's DataLink semantics: the calSelector links (the Raw2Master one also labels the
    /// association tree row of calSelector's VOTable), other raw science frames of an
    /// association, and the night log.
    public static let raw2rawSemantics = "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2raw"
    public static let raw2masterSemantics = "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2master"
    public static let siblingSemantics = "http://archive.eso.org/rdf/datalink/eso#sibling_raw"
    public static let nightLogSemantics = "http://archive.eso.org/rdf/datalink/eso#night_log"

    /// The loopback server the archive answers on.
    public let server: LoopbackServer
    private let state: Mutex<State>

    /// Starts the server with `configuration`.
    public init(_ configuration: Configuration) throws {
        var initial = State(configuration: configuration)
        initial.files = Self.catalogue(configuration)
        state = Mutex(initial)
        let box = HandlerBox()
        server = try LoopbackServer { request in box.handle(request) }
        box.archive = self
    }

    /// `http://127.0.0.1:<port>`: the base of `tap_obs`, `datalink`, `calselector`, `dataPortal` and `sso`.
    public var baseURL: String { server.baseURL }
    /// `<baseURL>/tap_obs`.
    public var tapURL: String { "\(baseURL)/tap_obs" }
    /// `<baseURL>/sso/oidc/token`.
    public var tokenURL: String { "\(baseURL)/sso/oidc/token" }

    /// Every request received so far, in order.
    public var requests: [LoopbackRequest] { server.requests }

    /// The requests that carried an `Authorization` header.
    public var authorizedRequests: [LoopbackRequest] { requests.filter { $0.header("Authorization") != nil } }

    /// Every id_token granted so far, oldest first.
    public var issuedTokens: [String] { state.withLock { $0.issued } }

    /// The number of GETs of each dp_id's file so far.
    public var downloadCounts: [String: Int] { state.withLock { $0.downloads } }

    /// Changes the configuration from now on (a tree certified, a frame made public, …).
    public func update(_ change: (inout Configuration) -> Void) {
        state.withLock { state in
            change(&state.configuration)
            state.files = Self.catalogue(state.configuration)
        }
    }

    /// Stops the server; calling it again does nothing.
    public func shutdown() { server.shutdown() }

    /// `ivo://eso.org/ID?<dp_id>`, the DataLink ID of a dp_id.
    public static func publisherDID(_ dpID: String) -> String { "ivo://eso.org/ID?\(dpID)" }

    /// The data portal URL of a dp_id's file.
    public func fileURL(_ dpID: String) -> String { "\(state.withLock { $0.configuration.portalURL } ?? baseURL)/dataPortal/file/\(dpID)" }

    /// The DataLink URL of a dp_id, as `dbo.raw.datalink_url` gives it (the `?` in the ID literal).
    public func datalinkURL(_ dpID: String) -> String { "\(baseURL)/datalink/links?ID=\(Self.publisherDID(dpID))" }

    /// The bytes the portal serves for `dpID` now (before any header rewrite of the next GET).
    public func bytes(of dpID: String) -> Data? {
        let (file, variant) = state.withLock { state in (state.files[dpID], state.configuration.rewritesHeaders.contains(dpID) ? state.downloads[dpID, default: 0] : 0) }
        guard let file else { return nil }
        return file.bytes ?? Self.fileBytes(dpID: dpID, filename: file.filename, variant: variant)
    }

    private static func catalogue(_ configuration: Configuration) -> [String: CatalogueFile] {
        var files: [String: CatalogueFile] = [:]
        for frame in configuration.frames {
            for tree in [frame.raw2raw, frame.raw2master].compactMap({ $0 }) {
                for file in tree.allFiles where files[file.name] == nil {
                    let filename = servedName(of: file.name)
                    files[file.name] = CatalogueFile(dpID: file.name, filename: filename, size: fileSize(dpID: file.name, filename: filename),
                                                     category: file.category, lastModified: frame.lastModified, bytes: nil, frame: nil)
                }
            }
        }
        for frame in configuration.frames {
            let category = frame.raw2raw?.files.first { $0.name == frame.dpID }?.category ?? files[frame.dpID]?.category ?? frame.category
            files[frame.dpID] = CatalogueFile(dpID: frame.dpID, filename: frame.filename, size: frame.bytes?.count ?? fileSize(dpID: frame.dpID, filename: frame.filename),
                                              category: category, lastModified: frame.lastModified, bytes: frame.bytes, frame: frame)
        }
        return files
    }

    // MARK: Routing

    private func answer(_ request: LoopbackRequest) -> LoopbackResponse {
        let response = respond(request)
        let delay = state.withLock { $0.configuration.answerDelayMilliseconds }
        guard delay > 0, response.fault == nil else { return response }
        return response.with(fault: .slow(chunkSize: max(1, response.body.count), delayMilliseconds: delay))
    }

    private func respond(_ request: LoopbackRequest) -> LoopbackResponse {
        let path = request.path.removingPercentEncoding ?? request.path
        let parameters = Self.parameters(of: request)
        switch path {
        case "/tap_obs/sync": return sync(parameters, method: request.method)
        case "/tap_obs/async": return asyncList(request, parameters)
        case "/tap_obs/capabilities": return capabilities()
        case "/datalink/links": return datalink(parameters, authorised: authorised(request))
        case "/calselector/v1/associations": return calSelector(parameters)
        case "/sso/oidc/token": return token(parameters)
        default: break
        }
        if path.hasPrefix("/tap_obs/async/") { return job(request, path: String(path.dropFirst("/tap_obs/async/".count)), parameters) }
        if path.hasPrefix("/dataPortal/file/") { return portal(request, dpID: String(path.dropFirst("/dataPortal/file/".count))) }
        return .status(404, body: "no such ESO endpoint: \(path)")
    }

    /// Query and form parameters in order, repeats kept.
    static func parameters(of request: LoopbackRequest) -> [(name: String, value: String)] {
        var items = request.queryItems
        if request.method == "POST", request.header("Content-Type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? true {
            for pair in request.bodyText.split(separator: "&", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                    let spaced = $0.replacingOccurrences(of: "+", with: " ")
                    return spaced.removingPercentEncoding ?? spaced
                }
                items.append((parts[0], parts.count > 1 ? parts[1] : ""))
            }
        }
        return items
    }

    /// The last value of a parameter, its name compared case-insensitively (TAP's rule).
    static func value(_ name: String, in parameters: [(name: String, value: String)]) -> String? {
        parameters.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    // MARK: TAP

    private func sync(_ parameters: [(name: String, value: String)], method: String) -> LoopbackResponse {
        guard method == "GET" || method == "POST" else { return .status(405) }
        guard Self.value("REQUEST", in: parameters)?.lowercased() == "doquery", Self.value("LANG", in: parameters)?.uppercased() == "ADQL",
              let query = Self.value("QUERY", in: parameters) else {
            return .votable(Self.votable(fields: [], rows: [], status: .error("REQUEST=doQuery, LANG=ADQL and QUERY are required")), status: 400)
        }
        return run(query: query, maxrec: Self.value("MAXREC", in: parameters))
    }

    /// The answer to an ADQL query: 200 with the rows, or 400 with QUERY_STATUS ERROR.
    private func run(query: String, maxrec: String?) -> LoopbackResponse {
        let (configuration, files) = state.withLock { ($0.configuration, $0.files) }
        switch Self.evaluate(query: query, maxrec: maxrec, configuration: configuration, files: files, baseURL: baseURL) {
        case .success(let text): return .votable(text)
        case .failure(let error): return .votable(Self.votable(fields: [], rows: [], status: .error(error.message)), status: 400)
        }
    }

    /// Why the fake's TAP refused a query.
    struct QueryError: Error {
        var message: String
    }

    static func evaluate(query: String, maxrec: String?, configuration: Configuration, files: [String: CatalogueFile], baseURL: String) -> Result<String, QueryError> {
        let pattern = #"^\s*SELECT\s+(?:TOP\s+(\d+)\s+)?(.+?)\s+FROM\s+(dbo\.raw|ivoa\.ObsCore)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(\w+)(?:\s+(ASC|DESC))?)?\s*;?\s*$"#
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive, .dotMatchesLineSeparators]),
              let match = regex.firstMatch(in: query, range: NSRange(query.startIndex..., in: query)) else {
            return .failure(QueryError(message: "Cannot parse query: \(query)"))
        }
        func group(_ index: Int) -> String? { Range(match.range(at: index), in: query).map { String(query[$0]) } }
        let products = group(3)?.lowercased() == "ivoa.obscore"
        let fields = products ? obsCoreFields : rawFields
        let columns: [Int]
        if group(2)?.trimmingCharacters(in: .whitespaces) == "*" {
            columns = Array(fields.indices)
        } else {
            var chosen: [Int] = []
            for name in (group(2) ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let index = fields.firstIndex(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame }) else {
                    return .failure(QueryError(message: "Column not found: \(name)"))
                }
                chosen.append(index)
            }
            columns = chosen
        }
        var frames = configuration.frames.filter { $0.isProduct == products }
        if let condition = group(4) {
            guard let wanted = dpIDs(in: condition) else { return .failure(QueryError(message: "Unsupported condition: \(condition)")) }
            frames = frames.filter { wanted.contains($0.dpID) }
        }
        var rows = frames.map { frame in products ? obsCoreRow(frame, files: files, baseURL: baseURL) : rawRow(frame, files: files, baseURL: baseURL) }
        if let order = group(5) {
            guard let index = fields.firstIndex(where: { $0.name.caseInsensitiveCompare(order) == .orderedSame }) else {
                return .failure(QueryError(message: "Column not found: \(order)"))
            }
            let descending = group(6)?.uppercased() == "DESC"
            rows.sort { descending ? ($0[index] ?? "") > ($1[index] ?? "") : ($0[index] ?? "") < ($1[index] ?? "") }
        }
        if let top = group(1).flatMap(Int.init) { rows = Array(rows.prefix(top)) }
        let limit = min(maxrec.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? configuration.defaultMaxrec, configuration.maxrecLimit)
        let overflow = rows.count > limit
        if overflow { rows = Array(rows.prefix(max(0, limit))) }
        let meta = products ? [datalinkDescriptor(accessURL: "\(baseURL)/datalink/links")] : []
        return .success(votable(fields: columns.map { fields[$0] }, rows: rows.map { row in columns.map { row[$0] } }, status: overflow ? .overflow : .ok,
                                infos: [("QUERY", query)], meta: meta))
    }

    /// The dp_ids of `dp_id IN ('…', …)` or `dp_id = '…'`; nil for any other condition.
    static func dpIDs(in condition: String) -> Set<String>? {
        let trimmed = condition.trimmingCharacters(in: .whitespacesAndNewlines)
        let literal = #"'((?:[^']|'')*)'"#
        let forms = [#"^dp_id\s+IN\s*\(\s*("# + literal + #"(?:\s*,\s*"# + literal + #")*)\s*\)$"#, #"^dp_id\s*=\s*("# + literal + #")$"#]
        for form in forms {
            guard let regex = try? NSRegularExpression(pattern: form, options: [.caseInsensitive]),
                  let match = regex.firstMatch(in: trimmed, range: NSRange(trimmed.startIndex..., in: trimmed)),
                  let list = Range(match.range(at: 1), in: trimmed) else { continue }
            let values = try? NSRegularExpression(pattern: literal)
            let text = String(trimmed[list])
            let found = values?.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range(at: 1), in: text).map { text[$0].replacingOccurrences(of: "''", with: "'") } } ?? []
            return Set(found)
        }
        return nil
    }

    private static func rawRow(_ frame: Frame, files: [String: CatalogueFile], baseURL: String) -> [String?] {
        let size = files[frame.dpID]?.size ?? 0
        return [String(size / 1000), "\(baseURL)/dataPortal/file/\(frame.dpID)", "\(baseURL)/datalink/links?ID=\(publisherDID(frame.dpID))",
                frame.category, frame.dpID, frame.tech, frame.type, frame.instrument, frame.lastModified, frame.origfile, frame.progID, frame.releaseDate]
    }

    private static func obsCoreRow(_ frame: Frame, files: [String: CatalogueFile], baseURL: String) -> [String?] {
        let size = files[frame.dpID]?.size ?? 0
        return [publisherDID(frame.dpID), frame.origfile, frame.dpID, "\(baseURL)/datalink/links?ID=\(publisherDID(frame.dpID))",
                "application/x-votable+xml;content=datalink", String(size / 1000), String(frame.calibLevel), "image", frame.collection,
                frame.instrument, frame.lastModified, frame.releaseDate]
    }

    private func capabilities() -> LoopbackResponse {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">
          <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
            <interface xsi:type="vs:ParamHTTP" role="std">
              <accessURL use="base">\(tapURL)</accessURL>
            </interface>
            <language>
              <name>ADQL</name>
              <version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>
              <description>ADQL 2.0</description>
            </language>
            <outputFormat>
              <mime>application/x-votable+xml</mime>
            </outputFormat>
            <executionDuration>
              <default>60</default>
              <hard>3600</hard>
            </executionDuration>
            <retentionPeriod>
              <default>86400</default>
            </retentionPeriod>
          </capability>
        </vosi:capabilities>

        """
        return .text(xml, contentType: "text/xml")
    }

    // MARK: UWS

    private func asyncList(_ request: LoopbackRequest, _ parameters: [(name: String, value: String)]) -> LoopbackResponse {
        switch request.method {
        case "POST":
            guard let query = Self.value("QUERY", in: parameters) else { return .status(400, body: "QUERY is required") }
            let run = Self.value("PHASE", in: parameters)?.uppercased() == "RUN"
            let id = state.withLock { state -> String in
                state.jobsCreated += 1
                let id = "\(1336 + state.jobsCreated)"
                state.jobs[id] = Job(id: id, query: query, maxrec: Self.value("MAXREC", in: parameters), phase: run ? "EXECUTING" : "PENDING",
                                     pollsLeft: state.configuration.executingPolls, created: Self.timestamp())
                return id
            }
            return .redirect(to: "\(tapURL)/async/\(id)", status: 303)
        case "GET":
            let jobs = state.withLock { $0.jobs.values.sorted { $0.id < $1.id } }
            let refs = jobs.map { "  <uws:jobref id=\"\($0.id)\" xlink:href=\"\(tapURL)/async/\($0.id)\"><uws:phase>\($0.phase)</uws:phase></uws:jobref>" }
            return .text((["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", #"<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1">"#] + refs + ["</uws:jobs>", ""]).joined(separator: "\n"), contentType: "text/xml")
        default:
            return .status(405)
        }
    }

    private func job(_ request: LoopbackRequest, path: String, _ parameters: [(name: String, value: String)]) -> LoopbackResponse {
        let parts = path.split(separator: "/").map(String.init)
        guard let id = parts.first, state.withLock({ $0.jobs[id] }) != nil else { return .status(404, body: "no such job: \(path)") }
        let jobURL = "\(tapURL)/async/\(id)"
        switch (request.method, Array(parts.dropFirst())) {
        case ("GET", []):
            let job = state.withLock { state -> Job in
                if var job = state.jobs[id], job.phase == "EXECUTING" {
                    if job.pollsLeft > 0 { job.pollsLeft -= 1 } else { job.phase = finalPhase(of: job, state: state) }
                    state.jobs[id] = job
                }
                return state.jobs[id]!
            }
            return .text(jobXML(job), contentType: "text/xml")
        case ("DELETE", []):
            state.withLock { _ = $0.jobs.removeValue(forKey: id) }
            return .redirect(to: "\(tapURL)/async", status: 303)
        case ("POST", []):
            guard Self.value("ACTION", in: parameters)?.uppercased() == "DELETE" else { return .status(400, body: "ACTION=DELETE is the only action") }
            state.withLock { _ = $0.jobs.removeValue(forKey: id) }
            return .redirect(to: "\(tapURL)/async", status: 303)
        case ("GET", ["phase"]):
            return .text(state.withLock { $0.jobs[id]!.phase })
        case ("POST", ["phase"]):
            let phase = Self.value("PHASE", in: parameters)?.uppercased()
            state.withLock { state in
                guard var job = state.jobs[id] else { return }
                if phase == "RUN", job.phase == "PENDING" { job.phase = "EXECUTING" }
                if phase == "ABORT", ["PENDING", "QUEUED", "EXECUTING"].contains(job.phase) { job.phase = "ABORTED" }
                state.jobs[id] = job
            }
            guard phase == "RUN" || phase == "ABORT" else { return .status(400, body: "PHASE must be RUN or ABORT") }
            return .redirect(to: jobURL, status: 303)
        case ("GET", ["results", "result"]):
            guard let job = state.withLock({ $0.jobs[id] }), job.phase == "COMPLETED" || job.phase == "ERROR" else {
                return .status(404, body: "the job has no result yet")
            }
            return run(query: job.query, maxrec: job.maxrec)
        default:
            return .status(404, body: "no such job resource: \(path)")
        }
    }

    private func finalPhase(of job: Job, state: State) -> String {
        switch Self.evaluate(query: job.query, maxrec: job.maxrec, configuration: state.configuration, files: state.files, baseURL: baseURL) {
        case .success: return "COMPLETED"
        case .failure: return "ERROR"
        }
    }

    private func jobXML(_ job: Job) -> String {
        let jobURL = "\(tapURL)/async/\(job.id)"
        var error = ""
        if job.phase == "ERROR" {
            let (configuration, files) = state.withLock { ($0.configuration, $0.files) }
            if case .failure(let failure) = Self.evaluate(query: job.query, maxrec: job.maxrec, configuration: configuration, files: files, baseURL: baseURL) {
                error = "\n  <uws:errorSummary hasDetail=\"true\" type=\"fatal\">\n    <uws:message>\(Self.xmlEscape(failure.message))</uws:message>\n  </uws:errorSummary>"
            }
        }
        let results = job.phase == "COMPLETED" ? "\n  <uws:results>\n    <uws:result id=\"result\" xlink:href=\"\(jobURL)/results/result\"/>\n  </uws:results>" : "\n  <uws:results/>"
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
          <uws:jobId>\(job.id)</uws:jobId>
          <uws:ownerId xsi:nil="true"/>
          <uws:phase>\(job.phase)</uws:phase>
          <uws:quote xsi:nil="true"/>
          <uws:creationTime>\(job.created)</uws:creationTime>
          <uws:startTime xsi:nil="true"/>
          <uws:endTime xsi:nil="true"/>
          <uws:executionDuration>60</uws:executionDuration>
          <uws:destruction>2099-01-01T00:00:00Z</uws:destruction>
          <uws:parameters>
            <uws:parameter id="lang">ADQL</uws:parameter>
            <uws:parameter id="maxrec">\(Self.xmlEscape(job.maxrec ?? ""))</uws:parameter>
            <uws:parameter id="query">\(Self.xmlEscape(job.query))</uws:parameter>
            <uws:parameter id="request">doQuery</uws:parameter>
          </uws:parameters>\(results)\(error)
        </uws:job>

        """
    }

    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    // MARK: DataLink

    private func datalink(_ parameters: [(name: String, value: String)], authorised: Bool) -> LoopbackResponse {
        let ids = parameters.filter { $0.name.caseInsensitiveCompare("ID") == .orderedSame }.map(\.value)
        guard !ids.isEmpty else { return .votable(Self.votable(fields: [], rows: [], status: .error("UsageFault: ID is required")), status: 400) }
        let (configuration, files) = state.withLock { ($0.configuration, $0.files) }
        if configuration.datalinkRefusesProprietary, !authorised, ids.contains(where: { configuration.proprietary.contains($0.hasPrefix("ivo://eso.org/ID?") ? String($0.dropFirst("ivo://eso.org/ID?".count)) : $0) }) {
            return .status(401, body: "Access denied: proprietary data", headers: [("WWW-Authenticate", "Bearer realm=\"ESO\"")])
        }
        let answered = configuration.datalinkIDLimit.map { Array(ids.prefix($0)) } ?? ids
        var rows: [[String?]] = []
        for id in answered {
            let dpID = id.hasPrefix("ivo://eso.org/ID?") ? String(id.dropFirst("ivo://eso.org/ID?".count)) : id
            guard let file = files[dpID] else {
                rows.append(Link(id: id, errorMessage: "NotFoundFault: \(id)", semantics: "#this").datalinkCells)
                continue
            }
            rows.append(Link(id: id, accessURL: fileURL(dpID), semantics: "#this", description: "Requested file", contentType: Self.contentType(of: file.filename),
                             contentLength: file.size, origfile: file.filename, category: file.category, datalink: datalinkURL(dpID), lastModified: file.lastModified).datalinkCells)
            guard let frame = file.frame, frame.raw2raw != nil else { continue }
            for (mode, semantics) in [("Raw2Raw", Self.raw2rawSemantics), ("Raw2Master", Self.raw2masterSemantics)] {
                rows.append(Link(id: id, accessURL: "\(baseURL)/calselector/v1/associations?dp_id=\(dpID)&mode=\(mode)&responseformat=votable", semantics: semantics,
                                 description: "\(mode == "Raw2Raw" ? "Raw" : "Processed") calibrations (calSelector \(mode))", contentType: "application/x-votable+xml;content=datalink",
                                 contentLength: 500000).datalinkCells)
            }
            rows.append(Link(id: id, accessURL: "\(fileURL(dpID)).NL", semantics: Self.nightLogSemantics, description: "Night log", contentType: "text/plain",
                             contentLength: 500000).datalinkCells)
        }
        return .votable(Self.votable(fields: Self.datalinkFields, rows: rows, status: answered.count < ids.count ? .overflow : .ok))
    }

    static func contentType(of filename: String) -> String {
        filename.hasSuffix(".Z") ? "application/x-fits;compress=Z" : "application/fits"
    }

    // MARK: calSelector

    private func calSelector(_ parameters: [(name: String, value: String)]) -> LoopbackResponse {
        let ids = parameters.filter { $0.name == "dp_id" }.flatMap { $0.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard !ids.isEmpty else { return .status(400, body: "dp_id is required") }
        let requested = Self.value("mode", in: parameters)?.lowercased() ?? "raw2raw"
        guard requested == "raw2raw" || requested == "raw2master" else { return .status(400, body: "mode must be Raw2Raw or Raw2Master") }
        let votable = Self.value("responseformat", in: parameters)?.lowercased() == "votable"
        let (configuration, files) = state.withLock { ($0.configuration, $0.files) }
        func tree(_ dpID: String) -> Association? {
            guard let frame = configuration.frames.first(where: { $0.dpID == dpID }) else { return nil }
            return requested == "raw2master" ? frame.raw2master ?? frame.raw2raw : frame.raw2raw
        }
        if votable {
            var rows: [[String?]] = []
            for dpID in ids {
                let id = Self.publisherDID(dpID)
                guard let association = tree(dpID) else {
                    rows.append(Link(id: id, errorMessage: "NotFoundFault: no calibration cascade for \(dpID)", semantics: "#this").calSelectorCells)
                    continue
                }
                rows.append(contentsOf: calSelectorRows(id: id, dpID: dpID, association: association, requested: requested, files: files))
            }
            return .votable(Self.votable(fields: Self.calSelectorFields, rows: rows))
        }
        let suffix = requested == "raw2master" ? "raw2master" : "raw2raw"
        var trees: [(String, Data)] = []
        for dpID in ids {
            guard let association = tree(dpID) else { return .status(404, body: "no calibration cascade for \(dpID)") }
            trees.append(("\(dpID)_\(suffix).xml", association.xml))
        }
        if trees.count == 1 {
            return LoopbackResponse(status: 200, headers: [("Content-Type", "application/xml; content=calselector"),
                                                           ("Content-Disposition", "attachment; filename=\"\(trees[0].0)\"")], body: trees[0].1)
        }
        var body = Data()
        for (name, xml) in trees.reversed() {
            body.append(Data("--\(Self.multipartBoundary)\nContent-Disposition: attachment; filename=\"\(name)\"\nContent-Type: application/xml;content=calselector\nContent-Length: \(xml.count)\n\n".utf8))
            body.append(xml)
            body.append(Data("\n".utf8))
        }
        body.append(Data("--\(Self.multipartBoundary)--\n".utf8))
        return LoopbackResponse(status: 200, headers: [("Content-Type", "multipart/form-data; boundary=\(Self.multipartBoundary);charset=UTF-8")], body: body)
    }

    /// The rows of one frame in calSelector's VOTable: `#this`, the tree, its calibrations and siblings.
    private func calSelectorRows(id: String, dpID: String, association: Association, requested: String, files: [String: CatalogueFile]) -> [[String?]] {
        let messages = association.messages.joined(separator: "; ")
        let description = "category=\"\(association.category)\" certified=\"\(association.certified)\" complete=\"\(association.complete)\" mode=\"\(association.mode ?? "")\" type=\"\(association.type)\" messages=\"\(messages)\""
        let main = files[dpID]
        var rows = [Link(id: id, accessURL: fileURL(dpID), semantics: "#this", description: description, contentType: main.map { Self.contentType(of: $0.filename) },
                         contentLength: main?.size, category: main?.category, datalink: datalinkURL(dpID)).calSelectorCells]
        let mode = requested == "raw2master" ? "Raw2Master" : "Raw2Raw"
        rows.append(Link(id: id, accessURL: "\(baseURL)/calselector/v1/associations?dp_id=\(dpID)&mode=\(mode)", semantics: Self.raw2masterSemantics,
                         description: "Association tree (calSelector \(mode))", contentType: "application/xml", contentLength: association.xml.count,
                         category: "ASSOCIATION_TREE").calSelectorCells)
        for file in association.allFiles where file.name != dpID {
            let served = files[file.name]
            let sibling = association.files.contains(file)
            rows.append(Link(id: id, accessURL: fileURL(file.name), semantics: sibling ? Self.siblingSemantics : "#calibration",
                             description: sibling ? "Sibling raw science frame" : "Calibration file", contentType: served.map { Self.contentType(of: $0.filename) },
                             contentLength: served?.size, category: file.category, datalink: datalinkURL(file.name)).calSelectorCells)
        }
        return rows
    }

    // MARK: Auth

    private func token(_ parameters: [(name: String, value: String)]) -> LoopbackResponse {
        guard Self.value("grant_type", in: parameters) == "password", Self.value("client_id", in: parameters) == "clientid" else {
            return .json(#"{"error":"unsupported_grant_type"}"#, status: 400)
        }
        let (username, password, lifetime) = state.withLock { ($0.configuration.username, $0.configuration.password, $0.configuration.tokenLifetime) }
        guard Self.value("username", in: parameters) == username, Self.value("password", in: parameters) == password else {
            return .text("Authentication failed: invalid username or password\n", status: 401, contentType: "text/plain;charset=UTF-8")
        }
        let now = Int(Date().timeIntervalSince1970)
        let count = state.withLock { $0.issued.count }
        let idToken = Self.jwt(claims: #"{"sub":"\#(username)","aud":"clientid","iss":"https://www.eso.org/sso/oidc","iat":\#(now),"nbf":\#(now - 300),"exp":\#(now + lifetime),"jti":"t\#(count + 1)"}"#)
        state.withLock { state in
            state.issued.append(idToken)
            state.expiries[idToken] = now + lifetime
        }
        return .json("{\n  \"access_token\": \"access-\(count + 1)\",\n  \"id_token\": \"\(idToken)\",\n  \"token_type\": \"bearer\",\n  \"expires_in\": \(lifetime),\n  \"scope\": \"\"\n}\n")
    }

    /// A JWT (RS256 header, an unverifiable signature) whose payload is `claims`.
    static func jwt(claims: String) -> String {
        func base64URL(_ text: String) -> String {
            var encoded = Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            while encoded.hasSuffix("=") { encoded.removeLast() }
            return encoded
        }
        return "\(base64URL(#"{"typ":"JWT","alg":"RS256"}"#)).\(base64URL(claims)).c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
    }

    /// Whether `request` carries an unexpired id_token this fake granted, or Basic with the password.
    private func authorised(_ request: LoopbackRequest) -> Bool {
        let header = request.header("Authorization") ?? ""
        return state.withLock { state in
            if header.hasPrefix("Bearer "), let exp = state.expiries[String(header.dropFirst(7))] {
                return Double(exp) > Date().timeIntervalSince1970
            }
            if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6))) {
                return String(decoding: data, as: UTF8.self) == "\(state.configuration.username):\(state.configuration.password)"
            }
            return false
        }
    }

    // MARK: Data portal

    private func portal(_ request: LoopbackRequest, dpID: String) -> LoopbackResponse {
        guard request.method == "GET" || request.method == "HEAD" else { return .status(405) }
        if dpID.hasSuffix(".NL") {
            let frame = String(dpID.dropLast(3))
            guard state.withLock({ $0.files[frame] }) != nil else { return .status(404) }
            return .text("Night log for \(frame): photometric, seeing 0.8\"\n")
        }
        let whole = request.method == "GET" && request.header("Range") == nil
        let lookup = state.withLock { state -> (CatalogueFile, Configuration, Int, Int?)? in
            guard let file = state.files[dpID] else { return nil }
            let earlier = state.downloads[dpID, default: 0]
            if request.method == "GET" { state.downloads[dpID] = earlier + 1 }
            let cut = whole ? state.configuration.cutNextDownload.removeValue(forKey: dpID) : nil
            return (file, state.configuration, earlier, cut)
        }
        guard let (file, configuration, earlier, nextCut) = lookup else { return .status(404, body: "no such file: \(dpID)") }
        if configuration.proprietary.contains(dpID), !authorised(request) {
            return .status(401, body: "Access denied: \(dpID) is proprietary", headers: [("WWW-Authenticate", "Bearer realm=\"ESO\"")])
        }
        if configuration.loginPageInsteadOf.contains(dpID) {
            return .htmlPage("<!DOCTYPE html>\n<html><head><title>ESO Single Sign On</title></head><body><form method=\"post\" action=\"/sso/login\"><input name=\"username\"/><input name=\"password\" type=\"password\"/></form></body></html>\n")
        }
        var variant = configuration.rewritesHeaders.contains(dpID) ? earlier : 0
        if request.header("Range") != nil, configuration.rangesServeUncorrectedHeader.contains(dpID) { variant += 1 }
        let bytes = file.bytes ?? Self.fileBytes(dpID: dpID, filename: file.filename, variant: variant)
        var response = LoopbackResponse.serving(bytes, for: request)
        response.headers = response.headers.map { $0.0 == "Content-Type" ? ($0.0, Self.contentType(of: file.filename)) : $0 }
        response.headers.append(("Content-Disposition", "attachment; filename=\"\(file.filename)\""))
        if whole, let cut = nextCut ?? (earlier == 0 ? configuration.cutFirstDownload[dpID] : nil) {
            return response.with(fault: .truncateAfter(bytes: cut))
        }
        return response
    }

    /// Lets the server's handler reach the archive, which exists only after the server started.
    private final class HandlerBox: @unchecked Sendable {
        private let lock = NSLock()
        private weak var stored: FakeESO?

        var archive: FakeESO? {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }

        func handle(_ request: LoopbackRequest) -> LoopbackResponse {
            archive?.answer(request) ?? .status(503)
        }
    }
}
