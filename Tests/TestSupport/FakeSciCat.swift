import DatapinKit
import Foundation
import Synchronization

/// A SciCat on loopback that answers as ../shared/ARCHIVES.md describes SciCat (backend-next):
/// routes under `/api/v3` and `/api/v4`, case-insensitively, the PID one percent-encoded path
/// segment. v3: `GET /datasets/{pid}` (404 `{"message":"dataset: <pid> not found"}`, 403 when
/// not visible), `GET /datasets/{pid}/origdatablocks` (at most `blockPageLimit` blocks, paged by
/// a filter's `limits` unless `ignoresBlockFilter`), `GET /datasets?filter={where,fields,limits}`
/// (at most `searchPageLimit` rows), `POST /auth/login` (JWTs living `tokenLifetime` seconds).
/// v4: `GET /datasets/{pid}?include=origdatablocks` (403 for anonymous callers) and
/// `/datasets/public/{pid}?include=origdatablocks` (200 with an empty body for a missing or
/// unpublished dataset), and `/datasets[/public]?filter=`. An invalid or expired token makes the
/// caller anonymous, as SciCat does. Files are served under `/files` + sourceFolder + path, so
/// `files:` is `<baseURL>/files`. pyscicat and scitacean read it (scripts/check-fake-scicat).
public final class FakeSciCat: Sendable {
    /// One file of a block, with the bytes the file server serves.
    public struct File: Sendable {
        /// As `dataFileList` writes it: relative to the source folder, or absolute.
        public var path: String
        public var bytes: Data
        public var time: String
        /// The `chk` to list instead of the true one (a catalogue that is wrong about a file).
        public var listedChecksum: String?

        public init(_ path: String, bytes: Data? = nil, time: String = "2024-03-01T10:00:00.000Z", listedChecksum: String? = nil) {
            self.path = path
            self.bytes = bytes ?? FakeSciCat.bytes(for: path)
            self.time = time
            self.listedChecksum = listedChecksum
        }
    }

    /// One origdatablock: its checksum algorithm (nil: no `chk` at all, as PSI writes) and files.
    public struct Block: Sendable {
        public var id: String
        public var chkAlg: String?
        public var files: [File]

        public init(id: String, chkAlg: String?, files: [File]) {
            self.id = id
            self.chkAlg = chkAlg
            self.files = files
        }
    }

    /// One dataset: its PID, fields `where:` can match, and its blocks.
    public struct Dataset: Sendable {
        public var pid: String
        public var datasetName: String
        public var sourceFolder: String
        public var isPublished: Bool
        public var proposalId: String
        public var ownerGroup: String
        public var updatedAt: String
        public var blocks: [Block]
        /// A `numberOfFiles` to claim instead of the true count (a catalogue out of step).
        public var claimedNumberOfFiles: Int?

        public init(pid: String, datasetName: String, sourceFolder: String, isPublished: Bool = true, proposalId: String = "616254", ownerGroup: String = "ess",
                    updatedAt: String = "2024-03-02T09:00:00.000Z", blocks: [Block], claimedNumberOfFiles: Int? = nil) {
            self.pid = pid
            self.datasetName = datasetName
            self.sourceFolder = sourceFolder
            self.isPublished = isPublished
            self.proposalId = proposalId
            self.ownerGroup = ownerGroup
            self.updatedAt = updatedAt
            self.blocks = blocks
            self.claimedNumberOfFiles = claimedNumberOfFiles
        }

        /// The path a file has on the facility's storage.
        public func storagePath(of file: File) -> String {
            Self.storagePath(of: file, in: self)
        }

        /// The path `file` of `dataset` has on the facility's storage: its absolute path, or its
        /// path under the dataset's source folder.
        public static func storagePath(of file: File, in dataset: Dataset) -> String {
            file.path.hasPrefix("/") ? file.path : (dataset.sourceFolder.hasSuffix("/") ? dataset.sourceFolder : dataset.sourceFolder + "/") + file.path
        }
    }

    public let server: LoopbackServer
    private let published: Mutex<[Dataset]>
    private let users: [String: String]
    private let acceptedTokens: Set<String>
    private let tokenLifetime: Int
    private let blockPageLimit: Int
    private let searchPageLimit: Int
    private let ignoresBlockFilter: Bool
    private let filesRedirect: String?
    private let issued = Mutex<[String]>([])

    /// Starts the server. `users` log in with `POST /api/v3/auth/login` (user name to password)
    /// and get JWTs living `tokenLifetime` seconds; `acceptedTokens` are valid too (until their
    /// `exp`). At most `blockPageLimit` blocks and `searchPageLimit` datasets go in one answer.
    /// With `filesRedirect`, every file request is answered 302 to that base + the file's path
    /// (a file server handing out a mirror on another host).
    public init(datasets: [Dataset], users: [String: String] = [:], acceptedTokens: Set<String> = [], tokenLifetime: Int = 3600,
                blockPageLimit: Int = 100, searchPageLimit: Int = 100, ignoresBlockFilter: Bool = false, filesRedirect: String? = nil) throws {
        self.filesRedirect = filesRedirect
        self.published = Mutex(datasets)
        self.users = users
        self.acceptedTokens = acceptedTokens
        self.tokenLifetime = tokenLifetime
        self.blockPageLimit = blockPageLimit
        self.searchPageLimit = searchPageLimit
        self.ignoresBlockFilter = ignoresBlockFilter
        let box = HandlerBox()
        server = try LoopbackServer { request in box.handle(request) }
        box.archive = self
    }

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { server.baseURL }
    /// The v3 API base, as users copy it.
    public var v3: String { server.baseURL + "/api/v3" }
    /// The v4 API base.
    public var v4: String { server.baseURL + "/api/v4" }
    /// The file server's base, for `files:`.
    public var files: String { server.baseURL + "/files" }

    /// Every request received so far.
    public var requests: [LoopbackRequest] { server.requests }
    /// Every token `auth/login` issued, oldest first.
    public var issuedTokens: [String] { issued.withLock { $0 } }

    public func shutdown() { server.shutdown() }

    /// Changes what the catalogue lists from now on (a dataset's files replaced or re-ingested).
    public func publish(_ datasets: [Dataset]) {
        published.withLock { $0 = datasets }
    }

    /// The bytes served for `path`: a few hundred bytes that differ from file to file.
    public static func bytes(for path: String) -> Data {
        let seed = path.utf8.reduce(UInt32(2166136261)) { ($0 ^ UInt32($1)) &* 16777619 }
        let count = 200 + Int(seed % 900)
        return Data((0..<count).map { UInt8(truncatingIfNeeded: UInt32($0) &* 37 &+ seed) })
    }

    /// The `chk` SciCat lists for `bytes` under `algorithm`: the real digest for one datapin
    /// computes, a made-up value for any other name.
    public static func checksum(_ bytes: Data, algorithm: String) -> String {
        switch algorithm.lowercased() {
        case "sha2": return TestDigest.hex(.sha256, of: bytes)
        default:
            guard let known = DigestAlgorithm(archiveName: algorithm) else { return String(TestDigest.hex(.sha256, of: bytes).prefix(16)) }
            return TestDigest.hex(known, of: bytes)
        }
    }

    // MARK: Routing

    private func respond(_ request: LoopbackRequest) -> LoopbackResponse {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments.first == "files" { return serveFile(request, segments: Array(segments.dropFirst())) }
        guard segments.count >= 3, segments[0].lowercased() == "api", ["v3", "v4"].contains(segments[1].lowercased()) else {
            return .json(#"{"statusCode":404,"message":"Cannot \#(request.method) \#(request.path)"}"#, status: 404)
        }
        let v4 = segments[1].lowercased() == "v4"
        let route = segments.dropFirst(2).map { $0.removingPercentEncoding ?? $0 }
        let authenticated = isAuthenticated(request)
        switch (request.method, route.first?.lowercased(), route.count) {
        case ("POST", "auth", 2) where route[1].lowercased() == "login" && !v4: return login(request)
        case ("GET", "datasets", 1): return search(request, v4: v4, authenticated: authenticated, publicOnly: !authenticated)
        case ("GET", "datasets", 2) where v4 && route[1].lowercased() == "public": return search(request, v4: true, authenticated: false, publicOnly: true)
        case ("GET", "datasets", 2): return v4 ? datasetV4(route[1], request: request, authenticated: authenticated, publicRoute: false) : datasetV3(route[1], authenticated: authenticated)
        case ("GET", "datasets", 3) where v4 && route[1].lowercased() == "public": return datasetV4(route[2], request: request, authenticated: authenticated, publicRoute: true)
        case ("GET", "datasets", 3) where !v4 && route[2].lowercased() == "origdatablocks": return blocksV3(route[1], request: request, authenticated: authenticated)
        default: return .json(#"{"statusCode":404,"message":"Cannot \#(request.method) \#(request.path)"}"#, status: 404)
        }
    }

    /// Whether the request carries a token this SciCat accepts (issued or accepted, not expired);
    /// `Authorization: Bearer` or pyscicat's `access_token` query parameter.
    private func isAuthenticated(_ request: LoopbackRequest) -> Bool {
        let header = request.header("Authorization") ?? ""
        let token = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : (request.query["access_token"] ?? "")
        guard !token.isEmpty, acceptedTokens.contains(token) || issued.withLock({ $0.contains(token) }) else { return false }
        if let expiry = JWT.expiry(of: token), expiry <= Date() { return false }
        return true
    }

    private func login(_ request: LoopbackRequest) -> LoopbackResponse {
        guard let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let username = body["username"] as? String, let password = body["password"] as? String,
              let expected = users[username], expected == password else {
            return .json(#"{"statusCode":401,"message":"Unauthorized"}"#, status: 401)
        }
        let token = issued.withLock { issued in
            let token = TestJWT.make(["exp": Int(Date().timeIntervalSince1970) + tokenLifetime, "username": username, "jti": "t\(issued.count + 1)"])
            issued.append(token)
            return token
        }
        return .json(Self.json(["access_token": token, "id": token, "expires_in": tokenLifetime, "ttl": tokenLifetime,
                                "created": "2024-03-01T10:00:00.000Z", "userId": "u-\(username)", "user": ["username": username, "email": "\(username)@ess.eu"]]), status: 201)
    }

    private func dataset(_ pid: String) -> Dataset? {
        published.withLock { $0 }.first { $0.pid == pid }
    }

    private func datasetV3(_ pid: String, authenticated: Bool) -> LoopbackResponse {
        guard let dataset = dataset(pid) else { return .json(Self.json(["message": "dataset: \(pid) not found"]), status: 404) }
        guard dataset.isPublished || authenticated else { return .json(#"{"statusCode":403,"message":"Forbidden resource"}"#, status: 403) }
        return .json(Self.json(Self.datasetObject(dataset, v4: false)))
    }

    private func blocksV3(_ pid: String, request: LoopbackRequest, authenticated: Bool) -> LoopbackResponse {
        guard let dataset = dataset(pid) else { return .json("[]") }
        guard dataset.isPublished || authenticated else { return .json(#"{"statusCode":403,"message":"Forbidden resource"}"#, status: 403) }
        var skip = 0, limit = blockPageLimit
        if !ignoresBlockFilter, let text = request.query["filter"], let filter = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
           let limits = filter["limits"] as? [String: Any] {
            skip = limits["skip"] as? Int ?? 0
            limit = min(limits["limit"] as? Int ?? blockPageLimit, blockPageLimit)
        }
        let blocks = dataset.blocks.dropFirst(skip).prefix(limit).map { Self.blockObject($0, of: dataset, v4: false) }
        return .json(Self.json(Array(blocks)))
    }

    private func datasetV4(_ pid: String, request: LoopbackRequest, authenticated: Bool, publicRoute: Bool) -> LoopbackResponse {
        if !publicRoute, !authenticated { return .json(#"{"statusCode":403,"message":"Forbidden resource"}"#, status: 403) }
        guard let dataset = dataset(pid), publicRoute ? dataset.isPublished : true else {
            return publicRoute ? LoopbackResponse(status: 200, headers: [("Content-Length", "0")]) : .json(Self.json(["message": "dataset: \(pid) not found"]), status: 404)
        }
        var object = Self.datasetObject(dataset, v4: true)
        let include = request.queryItems.filter { $0.name == "include" }.map(\.value)
        if include.contains("origdatablocks") { object["origdatablocks"] = dataset.blocks.map { Self.blockObject($0, of: dataset, v4: true) } }
        return .json(Self.json(object))
    }

    /// A field's value equals a filter's as MongoDB compares them: of the same JSON type and
    /// equal (the text "true" is not the boolean, the number 616254 not the text "616254").
    private static func equals(_ actual: Any, _ wanted: Any) -> Bool {
        if let text = actual as? String { return (wanted as? String) == text }
        if let flag = actual as? Bool { return !(wanted is String) && (wanted as? Bool) == flag }
        return false
    }

    /// v3's `filter={"where","fields","limits":{"limit","skip","order":"pid:asc"}}` and v4's
    /// (`"sort":{"pid":"asc"}`); a `where` value is a JSON scalar to equal or `{"inq":[…]}`.
    private func search(_ request: LoopbackRequest, v4: Bool, authenticated: Bool, publicOnly: Bool) -> LoopbackResponse {
        let filter = request.query["filter"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
        if v4, let unknown = filter.keys.first(where: { !["where", "fields", "limits", "include"].contains($0) }) {
            return .json(Self.json(["statusCode": 400, "message": "unknown filter key \(unknown)"]), status: 400)
        }
        let conditions = filter["where"] as? [String: Any] ?? [:]
        let limits = filter["limits"] as? [String: Any] ?? [:]
        let skip = limits["skip"] as? Int ?? 0
        let limit = min(limits["limit"] as? Int ?? (v4 ? 10 : 100), searchPageLimit)
        let matching = published.withLock { $0 }.filter { dataset in
            guard dataset.isPublished || !publicOnly else { return false }
            let fields: [String: Any] = ["pid": dataset.pid, "proposalId": dataset.proposalId, "ownerGroup": dataset.ownerGroup, "datasetName": dataset.datasetName,
                                         "isPublished": dataset.isPublished]
            return conditions.allSatisfy { name, wanted in
                guard let actual = fields[name] else { return false }
                if let operators = wanted as? [String: Any] {
                    return (operators["inq"] as? [Any])?.contains { Self.equals(actual, $0) } ?? false
                }
                return Self.equals(actual, wanted)
            }
        }
        let ascending = (limits["order"] as? String) == "pid:asc" || ((limits["sort"] as? [String: String])?["pid"] == "asc")
        let ordered = ascending ? matching.sorted { $0.pid < $1.pid } : matching
        let rows = ordered.dropFirst(skip).prefix(limit).map { Self.datasetObject($0, v4: v4) }
        return .json(Self.json(Array(rows)))
    }

    private func serveFile(_ request: LoopbackRequest, segments: [String]) -> LoopbackResponse {
        if let filesRedirect { return .redirect(to: filesRedirect + "/" + segments.joined(separator: "/")) }
        let path = "/" + segments.map { $0.removingPercentEncoding ?? $0 }.joined(separator: "/")
        for dataset in published.withLock({ $0 }) {
            for block in dataset.blocks {
                for file in block.files where dataset.storagePath(of: file) == path {
                    return .serving(file.bytes, for: request)
                }
            }
        }
        return .status(404, body: "no file \(path)")
    }

    // MARK: Answers

    /// A dataset as SciCat writes it, with the fields scitacean's model asks for.
    static func datasetObject(_ dataset: Dataset, v4: Bool) -> [String: Any] {
        let files = dataset.blocks.flatMap(\.files)
        var object: [String: Any] = [
            "pid": dataset.pid, "type": "raw", "datasetName": dataset.datasetName, "description": "Measured at the loopback facility",
            "owner": "Ponder Stibbons", "ownerEmail": "p.stibbons@ess.eu", "ownerGroup": dataset.ownerGroup, "accessGroups": ["faculty"],
            "isPublished": dataset.isPublished, "contactEmail": "p.stibbons@ess.eu", "creationLocation": "ESS/LOKI",
            "creationTime": "2024-03-01T09:00:00.000Z", "sourceFolder": dataset.sourceFolder, "sourceFolderHost": "sftp://login.esss.dk",
            "size": files.reduce(0) { $0 + $1.bytes.count }, "packedSize": 0, "numberOfFiles": dataset.claimedNumberOfFiles ?? files.count,
            "numberOfFilesArchived": 0, "scientificMetadata": ["temperature": ["value": "123", "unit": "K"]], "keywords": ["loopback"],
            "techniques": [], "history": [], "datasetlifecycle": ["archivable": true, "retrievable": false],
            "createdAt": "2024-03-01T10:00:00.000Z", "updatedAt": dataset.updatedAt, "createdBy": "ingestor", "updatedBy": "ingestor",
            "version": v4 ? "4.12.0" : "3.2.5", "inputDatasets": [], "usedSoftware": ["loopback"], "investigator": "p.stibbons@ess.eu",
        ]
        if v4 {
            object["proposalIds"] = [dataset.proposalId]
            object["principalInvestigators"] = ["p.stibbons@ess.eu"]
        } else {
            object["_id"] = dataset.pid
            object["proposalId"] = dataset.proposalId
            object["principalInvestigator"] = "p.stibbons@ess.eu"
        }
        return object
    }

    /// An origdatablock as SciCat writes it; v3 adds `id` and `__v`.
    static func blockObject(_ block: Block, of dataset: Dataset, v4: Bool) -> [String: Any] {
        var object: [String: Any] = [
            "_id": block.id, "datasetId": dataset.pid, "size": block.files.reduce(0) { $0 + $1.bytes.count },
            "ownerGroup": dataset.ownerGroup, "accessGroups": ["faculty"], "isPublished": dataset.isPublished,
            "createdAt": "2024-03-01T10:00:00.000Z", "updatedAt": dataset.updatedAt, "createdBy": "ingestor", "updatedBy": "ingestor",
            "dataFileList": block.files.enumerated().map { index, file -> [String: Any] in
                var entry: [String: Any] = ["path": file.path, "size": file.bytes.count, "time": file.time, "uid": "1000", "gid": "1000",
                                            "perm": index % 2 == 0 ? "-rw-r--r--" : "0o100644", "_id": "\(block.id)-\(index)"]
                if let algorithm = block.chkAlg { entry["chk"] = file.listedChecksum ?? checksum(file.bytes, algorithm: algorithm) }
                return entry
            },
        ]
        if let algorithm = block.chkAlg { object["chkAlg"] = algorithm }
        if !v4 {
            object["id"] = block.id
            object["__v"] = 0
        }
        return object
    }

    private static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Lets the server's handler reach the catalogue, which exists only after the server started.
    private final class HandlerBox: @unchecked Sendable {
        private let lock = NSLock()
        private weak var stored: FakeSciCat?

        var archive: FakeSciCat? {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }

        func handle(_ request: LoopbackRequest) -> LoopbackResponse {
            archive?.respond(request) ?? .status(503)
        }
    }
}

extension FakeSciCat {
    /// The catalogue the SciCat tests share, ESS-like: PIDs under `20.500.12269/`.
    public enum Sample {
        /// Published; blake2b in one block; a subfolder; an absolute path inside its folder.
        public static let thaum = "20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3"
        /// Published; md5 over three blocks (more than one page at two blocks a page), then a
        /// block without `chk`, a block of an unknown algorithm, and one of `sha2`.
        public static let loki = "20.500.12269/loki 616254-a"
        /// Unpublished (a token or a login is needed); sha256.
        public static let embargoed = "20.500.12269/embargoed-0001"
        /// Another proposal's published dataset, for `where:`.
        public static let other = "20.500.12269/other-0002"

        public static let thaumFolder = "/ess/data/coda/2024/616254/thaum"
        public static let lokiFolder = "/ess/data/coda/2024/616254/loki"

        public static func datasets() -> [Dataset] {
            [
                Dataset(pid: thaum, datasetName: "Thaum flux", sourceFolder: thaumFolder, blocks: [
                    Block(id: "b-thaum-1", chkAlg: "blake2b", files: [
                        File("flux.dat"), File("logs/measurement.log"), File("\(thaumFolder)/raw/run 1.nxs"),
                    ]),
                ]),
                Dataset(pid: loki, datasetName: "LoKI run 616254", sourceFolder: lokiFolder, blocks: [
                    Block(id: "b-loki-1", chkAlg: "md5", files: [File("run_0001.nxs"), File("run_0002.nxs")]),
                    Block(id: "b-loki-2", chkAlg: "md5", files: [File("sub/run_0003.nxs")]),
                    Block(id: "b-loki-3", chkAlg: "md5", files: [File("sub/run_0004.nxs")]),
                    Block(id: "b-loki-4", chkAlg: nil, files: [File("psi/unchecked.h5")]),
                    Block(id: "b-loki-5", chkAlg: "xxh64", files: [File("fast/hashed.bin")]),
                    Block(id: "b-loki-6", chkAlg: "sha2", files: [File("sha2/notes.txt")]),
                ]),
                Dataset(pid: embargoed, datasetName: "Embargoed", sourceFolder: "/ess/data/coda/2024/999999/emb", isPublished: false, proposalId: "999999", blocks: [
                    Block(id: "b-emb-1", chkAlg: "sha256", files: [File("secret.nxs")]),
                ]),
                Dataset(pid: other, datasetName: "Other proposal", sourceFolder: "/ess/data/coda/2024/111111/x", proposalId: "111111", blocks: [
                    Block(id: "b-other-1", chkAlg: "sha1", files: [File("other.nxs")]),
                ]),
            ]
        }
    }
}
