import Foundation
import Synchronization

/// A MAST on loopback that answers both of MAST's APIs as ../shared/ARCHIVES.md describes them:
/// Mission Search (`POST /search/<mission>/api/v0.1/search` paged by offset/limit,
/// `post_list_products`, `retrieve_product`, and `GET /search/util/api/v0.1/column_list`), the
/// Portal (`POST /api/v0/invoke` with Mast.Caom.Products, EXECUTING before COMPLETE, paged by
/// `page`/`pagesize`, `POST /portal/Mashup/Mashup.asmx/columnsconfig`,
/// `GET /api/v0.1/Download/file`), and `GET /whoami`. astroquery 0.4.11's MastMissions and
/// Observations work against it (scripts/check-fake-mast). Exclusive-access files need
/// `Authorization: token <token>`; without it the download answers 401, with another token 403.
public final class FakeMAST: Sendable {
    /// One file a Mission Search dataset lists.
    public struct MissionFile: Sendable {
        public var filename: String
        /// JWST product level ("1b", "2a", "2b", "2c", "3") or HST category ("CALIBRATED").
        public var category: String
        /// As MAST writes it: "_cal" for JWST, "SHF" for HST.
        public var fileSuffix: String
        public var type: String
        public var exclusive: Bool
        public var bytes: Data

        public init(_ filename: String, category: String, fileSuffix: String, type: String = "science", exclusive: Bool = false, bytes: Data? = nil) {
            self.filename = filename
            self.category = category
            self.fileSuffix = fileSuffix
            self.type = type
            self.exclusive = exclusive
            self.bytes = bytes ?? FakeMAST.bytes(for: filename)
        }
    }

    /// One Mission Search dataset: its search row and its products.
    public struct MissionDataset: Sendable {
        public var mission: String
        public var id: String
        /// Columns of the search row besides the id (`program`, `instrument_name`, …): what `where:` matches.
        public var columns: [String: String]
        public var instrument: String
        public var filters: String
        public var files: [MissionFile]

        public init(mission: String, id: String, columns: [String: String] = [:], instrument: String, filters: String, files: [MissionFile]) {
            self.mission = mission
            self.id = id
            self.columns = columns
            self.instrument = instrument
            self.filters = filters
            self.files = files
        }
    }

    /// One CAOM product row of the Portal.
    public struct PortalFile: Sendable {
        public var filename: String
        public var productType: String
        public var subGroup: String
        public var recommended: Bool
        public var calibLevel: Int
        public var exclusive: Bool
        public var bytes: Data

        public init(_ filename: String, productType: String = "SCIENCE", subGroup: String, recommended: Bool = false, calibLevel: Int, exclusive: Bool = false) {
            self.filename = filename
            self.productType = productType
            self.subGroup = subGroup
            self.recommended = recommended
            self.calibLevel = calibLevel
            self.exclusive = exclusive
            self.bytes = FakeMAST.bytes(for: filename)
        }
    }

    /// One CAOM observation: the `obsid` the spec names and its products. A level-3
    /// observation names the obsids of its `members`, whose products its product list holds too,
    /// each under the member's own `obs_id` with the observation as `parent_obsid` (CAOM's rule).
    public struct Observation: Sendable {
        public var obsid: String
        public var collection: String
        public var obsID: String
        public var files: [PortalFile]
        public var members: [String]

        public init(obsid: String, collection: String, obsID: String, files: [PortalFile], members: [String] = []) {
            self.obsid = obsid
            self.collection = collection
            self.obsID = obsID
            self.files = files
            self.members = members
        }
    }

    /// A way of paging that never finishes, as a broken or hostile archive pages: each
    /// announces a billion search rows (`totalResults`) or Portal pages (`pagesFiltered`).
    public enum PagingFault: Sendable {
        /// Pages past the real rows are empty.
        case emptyPagesForever
        /// Every page answers the rows of the first page again.
        case repeatsFirstPage
        /// Every page has rows never sent before, made up as it goes.
        case endlessNewRows
    }

    /// What a paging fault announces.
    static let announcedForever = 1_000_000_000

    public let server: LoopbackServer
    private let published: Mutex<(datasets: [MissionDataset], observations: [Observation])>
    private var datasets: [MissionDataset] { published.withLock { $0.datasets } }
    private var observations: [Observation] { published.withLock { $0.observations } }
    private let token: String?
    private let user: String
    private let searchPageLimit: Int
    private let portalPageLimit: Int
    private let executingAnswers: Int
    private let pagingFault: PagingFault?
    private let portalAsks = Mutex<[String: Int]>([:])
    private let answerDelay: ClosedRange<Int>?
    private let arrivals = Mutex<[ContinuousClock.Instant]>([])

    /// Starts the server. The archive never returns more than `searchPageLimit` search rows or
    /// `portalPageLimit` product rows per page whatever the client asks, and answers each Portal
    /// query `executingAnswers` times with EXECUTING before its pages are ready. With a
    /// `pagingFault`, searches and Portal product lists page that way. With `answerDelayMilliseconds`,
    /// every answer's body is held back for a time drawn at random from that range (the headers
    /// go at once), as a slow archive answers; the server's thread never waits.
    public init(datasets: [MissionDataset] = [], observations: [Observation] = [], token: String? = nil, user: String = "Jane Doe",
                searchPageLimit: Int = 2, portalPageLimit: Int = 3, executingAnswers: Int = 1, pagingFault: PagingFault? = nil,
                answerDelayMilliseconds: ClosedRange<Int>? = nil) throws {
        self.answerDelay = answerDelayMilliseconds
        self.published = Mutex((datasets, observations))
        self.token = token
        self.user = user
        self.searchPageLimit = searchPageLimit
        self.portalPageLimit = portalPageLimit
        self.executingAnswers = executingAnswers
        self.pagingFault = pagingFault
        let box = HandlerBox()
        server = try LoopbackServer { request in box.handle(request) }
        box.archive = self
    }

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { server.baseURL }

    /// Changes what the archive lists from now on, as MAST does when it reprocesses data or an
    /// exclusive-access period ends; the server and its URL stay the same.
    public func publish(datasets: [MissionDataset], observations: [Observation]) {
        published.withLock { $0 = (datasets, observations) }
    }

    /// Every request received so far.
    public var requests: [LoopbackRequest] { server.requests }

    public func shutdown() { server.shutdown() }

    /// The bytes served for `filename`: a few kilobytes that differ from file to file.
    public static func bytes(for filename: String) -> Data {
        let seed = filename.utf8.reduce(UInt32(2166136261)) { ($0 ^ UInt32($1)) &* 16777619 }
        let count = 1024 + Int(seed % 3072)
        return Data((0..<count).map { UInt8(truncatingIfNeeded: UInt32($0) &* 31 &+ seed) })
    }

    /// The Mission Search row `uri` of a file: `<dataset>/<filename>`.
    public static func missionURI(dataset: String, filename: String) -> String { "\(dataset)/\(filename)" }

    /// The most requests that arrived within any `milliseconds` of each other. With every
    /// answer delayed by at least `milliseconds`, a client that keeps at most N requests open
    /// at once can never have sent more than N in such a window.
    public func mostRequestsArrivingWithin(milliseconds: Int) -> Int {
        let times = arrivals.withLock { $0 }.sorted()
        let window = Duration.milliseconds(milliseconds)
        var most = 0
        var first = 0
        for last in times.indices {
            while times[last] - times[first] >= window { first += 1 }
            most = max(most, last - first + 1)
        }
        return most
    }

    /// The answer to `request`, held back by the configured delay; records when it arrived.
    private func answer(_ request: LoopbackRequest) -> LoopbackResponse {
        arrivals.withLock { $0.append(.now) }
        let response = respond(request)
        guard let answerDelay, response.fault == nil else { return response }
        return response.with(fault: .slow(chunkSize: max(1, response.body.count), delayMilliseconds: Int.random(in: answerDelay)))
    }

    private func respond(_ request: LoopbackRequest) -> LoopbackResponse {
        let path = request.path
        if path == "/whoami" { return whoami(request) }
        if path == "/api/v0/invoke" { return invoke(request: request) }
        if path == "/portal/Mashup/Mashup.asmx/columnsconfig" { return columnsConfig(request) }
        if path == "/search/util/api/v0.1/column_list" { return columnList(request) }
        if path == "/api/v0.1/Download/file" { return portalDownload(request) }
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count == 5, parts[0] == "search", parts[2] == "api", parts[3] == "v0.1" else { return .status(404, body: "no such MAST endpoint: \(path)") }
        let mission = parts[1]
        switch (request.method, parts[4]) {
        case ("POST", "search"): return search(mission: mission, request: request)
        case ("POST", "post_list_products"): return listProducts(mission: mission, request: request)
        case ("GET", "list_products"): return listProducts(mission: mission, ids: (request.query["dataset_ids"] ?? "").split(separator: ",").map(String.init))
        case ("GET", "retrieve_product"), ("HEAD", "retrieve_product"): return missionDownload(mission: mission, request: request)
        default: return .status(405)
        }
    }

    // MARK: Mission Search

    private func search(mission: String, request: LoopbackRequest) -> LoopbackResponse {
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let conditions = body["conditions"] as? [[String: Any]] else {
            return .json(#"{"detail":"the body is not a search request"}"#, status: 422)
        }
        let offset = body["offset"] as? Int ?? 0
        let limit = min(body["limit"] as? Int ?? 5000, searchPageLimit)
        let idColumn = mission == "hst" ? "sci_data_set_name" : "fileSetName"
        let matching = datasets.filter { dataset in
            dataset.mission == mission && conditions.allSatisfy { condition in
                condition.allSatisfy { name, value in
                    let wanted = "\(value)".split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                    let actual = (name == idColumn ? dataset.id : dataset.columns[name])?.lowercased()
                    return actual.map { wanted.contains($0) } ?? false
                }
            }
        }
        let sorted = (body["sort_by"] as? [String])?.contains(idColumn) == true ? matching.sorted { $0.id < $1.id } : matching
        let page = sorted.dropFirst(pagingFault == .repeatsFirstPage ? 0 : offset).prefix(limit)
        var rows: [[String: Any]] = page.map { dataset in
            var row: [String: Any] = dataset.columns
            row[idColumn] = dataset.id
            return row
        }
        if pagingFault == .endlessNewRows {
            rows = (offset..<offset + limit).map { [idColumn: "made-up-\($0)"] }
        }
        let columns = Set(rows.flatMap(\.keys)).union([idColumn]).sorted()
        let answer: [String: Any] = [
            "messages": [], "info": columns.map { ["name": $0, "type": "string"] },
            "search_params": ["conditions": conditions, "offset": offset, "limit": limit],
            "totalResults": pagingFault == nil ? matching.count : Self.announcedForever, "results": rows,
        ]
        return .json(Self.json(answer))
    }

    private func listProducts(mission: String, request: LoopbackRequest) -> LoopbackResponse {
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let ids = body["dataset_ids"] as? [String] else {
            return .json(#"{"detail":"dataset_ids is required"}"#, status: 422)
        }
        guard ids.count <= 1000 else { return .json(#"{"detail":"at most 1000 dataset_ids"}"#, status: 422) }
        return listProducts(mission: mission, ids: ids)
    }

    private func listProducts(mission: String, ids: [String]) -> LoopbackResponse {
        var rows: [[String: Any]] = []
        for id in ids {
            guard let dataset = datasets.first(where: { $0.mission == mission && $0.id.caseInsensitiveCompare(id) == .orderedSame }) else { continue }
            for file in dataset.files {
                rows.append([
                    "product_key": "\(dataset.id)_\(file.filename)", "access": file.exclusive ? "EXCLUSIVE_ACCESS" : "PUBLIC",
                    "dataset": dataset.id, "instrument_name": dataset.instrument, "filters": dataset.filters,
                    "filename": file.filename, "uri": Self.missionURI(dataset: dataset.id, filename: file.filename),
                    "authz_primary_identifier": dataset.id, "authz_secondary_identifier": "CAL",
                    "file_suffix": file.fileSuffix, "category": file.category, "size": file.bytes.count, "type": file.type,
                ])
            }
        }
        return .json(Self.json(["products": rows]))
    }

    private func missionDownload(mission: String, request: LoopbackRequest) -> LoopbackResponse {
        guard let name = request.query["product_name"] else { return .status(400, body: "product_name is required") }
        for dataset in datasets where dataset.mission == mission {
            for file in dataset.files where Self.missionURI(dataset: dataset.id, filename: file.filename) == name {
                return serve(file.bytes, exclusive: file.exclusive, request: request)
            }
        }
        return .status(404, body: "no product \(name)")
    }

    // MARK: Portal

    private func invoke(request: LoopbackRequest) -> LoopbackResponse {
        guard request.method == "POST" else { return .status(405) }
        guard let text = request.formFields["request"], let body = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return .json(#"{"status":"ERROR","msg":"request is not JSON"}"#, status: 400)
        }
        guard body["service"] as? String == "Mast.Caom.Products", let params = body["params"] as? [String: Any], let obsid = params["obsid"] else {
            return .json(#"{"status":"ERROR","msg":"unknown service or no obsid","data":[],"fields":[]}"#)
        }
        // A query runs once: while it executes every page is EXECUTING, then every page is ready.
        let query = "\(body["service"] ?? "")|\(obsid)"
        let asked = portalAsks.withLock { asks in
            asks[query, default: 0] += 1
            return asks[query]!
        }
        if asked <= executingAnswers {
            return .json(#"{"status":"EXECUTING","msg":"","data":[],"fields":[],"paging":{}}"#)
        }
        let ids = "\(obsid)".split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var rows: [[String: Any]] = []
        for id in ids {
            guard let parent = observations.first(where: { $0.obsid == id }) else { continue }
            let listed = [parent] + parent.members.compactMap { member in observations.first { $0.obsid == member } }
            for observation in listed {
                for file in observation.files {
                    rows.append([
                        "obsID": observation.obsid, "obs_collection": observation.collection, "dataproduct_type": "image",
                        "obs_id": observation.obsID, "description": "DADS \(file.subGroup) file", "type": "S",
                        "dataURI": Self.portalURI(collection: observation.collection, filename: file.filename),
                        "productType": file.productType,
                        "productGroupDescription": file.recommended ? "Minimum Recommended Products" : NSNull(),
                        "productSubGroupDescription": file.subGroup, "productFilename": file.filename, "size": file.bytes.count,
                        "parent_obsid": parent.obsid, "dataRights": file.exclusive ? "EXCLUSIVE_ACCESS" : "PUBLIC",
                        "calib_level": file.calibLevel, "filters": "F814W", "proposal_id": "10000",
                    ])
                }
            }
        }
        let pageSize = min(body["pagesize"] as? Int ?? 50000, portalPageLimit)
        let page = max(body["page"] as? Int ?? 1, 1)
        let pages = pagingFault == nil ? max(1, (rows.count + pageSize - 1) / pageSize) : Self.announcedForever
        var slice = Array(rows.dropFirst(pagingFault == .repeatsFirstPage ? 0 : (page - 1) * pageSize).prefix(pageSize))
        if pagingFault == .endlessNewRows, var template = rows.first {
            slice = (0..<pageSize).map { index in
                template["dataURI"] = Self.portalURI(collection: "HST", filename: "made-up-\(page)-\(index).fits")
                return template
            }
        }
        let fields = Self.portalFields
        let answer: [String: Any] = [
            "status": "COMPLETE", "msg": "", "data": slice,
            "fields": fields.map { ["name": $0, "type": $0 == "size" || $0 == "calib_level" ? "int" : "string"] },
            "paging": ["page": page, "pageSize": pageSize, "pagesFiltered": pages, "rows": slice.count, "rowsFiltered": rows.count, "rowsTotal": rows.count],
        ]
        return .json(Self.json(answer))
    }

    /// Mission Search's searchable columns of `?mission=`: the dataset id column and every column
    /// of that mission's search rows, as `column_list` describes them (astroquery checks
    /// `query_criteria`'s keywords against it).
    private func columnList(_ request: LoopbackRequest) -> LoopbackResponse {
        guard request.method == "GET", let mission = request.query["mission"]?.lowercased() else {
            return .json(#"{"detail":"mission is required"}"#, status: 422)
        }
        let idColumn = mission == "hst" ? "sci_data_set_name" : "fileSetName"
        let names = Set(datasets.filter { $0.mission == mission }.flatMap(\.columns.keys)).union([idColumn]).sorted()
        let columns: [[String: Any]] = names.map { name in
            ["column_name": name, "field_name": name, "description": name == idColumn ? "Dataset name" : name,
             "qual_type": "string", "datatype": "char", "queryable": "yes", "default_output": "yes", "indexed": name == idColumn ? "yes" : "no"]
        }
        return .json(Self.json(columns))
    }

    /// The Portal's column configuration of a service (`colConfigId=`): the product columns with
    /// their titles and types, as astroquery asks for it before its first product list.
    private func columnsConfig(_ request: LoopbackRequest) -> LoopbackResponse {
        guard request.method == "POST", request.formFields["colConfigId"] == "Mast.Caom.Products" else { return .json("{}") }
        var config: [String: Any] = [:]
        for name in Self.portalFields {
            config[name] = ["text": name, "vot.datatype": name == "size" || name == "calib_level" ? "int" : "char"]
        }
        return .json(Self.json(config))
    }

    /// The columns of a Mast.Caom.Products row.
    static let portalFields = ["obsID", "obs_collection", "dataproduct_type", "obs_id", "description", "type", "dataURI", "productType", "productGroupDescription",
                               "productSubGroupDescription", "productFilename", "size", "parent_obsid", "dataRights", "calib_level", "filters", "proposal_id"]

    /// The CAOM `dataURI` of a file: `mast:<COLLECTION>/product/<filename>`.
    public static func portalURI(collection: String, filename: String) -> String { "mast:\(collection)/product/\(filename)" }

    private func portalDownload(_ request: LoopbackRequest) -> LoopbackResponse {
        guard let uri = request.query["uri"] else { return .status(400, body: "uri is required") }
        for observation in observations {
            for file in observation.files where Self.portalURI(collection: observation.collection, filename: file.filename) == uri {
                return serve(file.bytes, exclusive: file.exclusive, request: request)
            }
        }
        return .status(404, body: "no product \(uri)")
    }

    // MARK: Access

    private func serve(_ bytes: Data, exclusive: Bool, request: LoopbackRequest) -> LoopbackResponse {
        if exclusive {
            guard let authorization = request.header("Authorization") else {
                return .status(401, body: "exclusive-access data: log in with a MAST token")
            }
            guard let token, authorization == "token \(token)" else {
                return .status(403, body: "this token may not read this program's data")
            }
        }
        return .serving(bytes, for: request)
    }

    private func whoami(_ request: LoopbackRequest) -> LoopbackResponse {
        if let token, request.header("Authorization") == "token \(token)" {
            return .json(Self.json(["anon": false, "ezid": "jdoe", "attrib": ["display_name": user, "email": "jdoe@example.org"]]))
        }
        return .json(#"{"anon": true, "ezid": null, "attrib": {}}"#)
    }

    private static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Lets the server's handler reach the archive, which exists only after the server started.
    private final class HandlerBox: @unchecked Sendable {
        private let lock = NSLock()
        private weak var stored: FakeMAST?

        var archive: FakeMAST? {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }

        func handle(_ request: LoopbackRequest) -> LoopbackResponse {
            archive?.answer(request) ?? .status(503)
        }
    }
}
