import Foundation
import Testing
import TestSupport

/// The Python that has pyvo and astroquery, from DATAPIN_ESO_PYTHON; nil when it is not set.
private let esoPython = ProcessInfo.processInfo.environment["DATAPIN_ESO_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

/// pyvo and astroquery.eso pointed at the loopback ESO (scripts/lib/eso_check.py): the fake must
/// answer what the real clients ask, the way they expect it. Runs when DATAPIN_ESO_PYTHON names a
/// Python with pyvo and astroquery (scripts/check-fake-eso sets one up).
@Suite(.enabled(if: esoPython != nil, "set DATAPIN_ESO_PYTHON (scripts/check-fake-eso)"))
struct ESOClientsTests {
    static let product = "ADP.2021-03-04T05:06:07.890", secondProduct = "ADP.2021-03-04T05:06:08.123"
    static let proprietary = "FORS2.2026-11-30T01:02:03.456"
    static let username = "ada", password = "correct horse"

    static func archive() throws -> FakeESO {
        var configuration = try FakeESO.Configuration.fors2()
        configuration.frames += [
            FakeESO.Frame(product, category: "SCIENCE", collection: "MUSE", calibLevel: 3),
            FakeESO.Frame(secondProduct, category: "SCIENCE", collection: "MUSE", calibLevel: 2),
            FakeESO.Frame(proprietary, releaseDate: "2027-11-30T01:02:03.456Z"),
        ]
        configuration.proprietary = [proprietary]
        configuration.username = username
        configuration.password = password
        configuration.datalinkIDLimit = 1
        configuration.defaultMaxrec = 2
        return try FakeESO(configuration)
    }

    /// What eso_check.py printed.
    struct Answers: Decodable {
        struct RawRow: Decodable, Equatable { var dp_id: String; var access_url: String; var datalink_url: String; var access_estsize: Int }
        struct Sync: Decodable { var rows: [RawRow]; var estsize_unit: String }
        struct Overflow: Decodable { var rows: Int; var warnings: [String] }
        struct LinkRow: Decodable, Equatable { var semantics: String; var access_url: String; var content_length: Int; var eso_origfile: String?; var last_mod_date: String? }
        struct ProductLink: Decodable, Equatable { var eso_origfile: String; var content_length: Int }
        struct CalSelector: Decodable { var this: String; var semantics: [String: Int] }
        var versions: [String: String]
        var sync: Sync
        var async: [String]
        var overflow: [String: Overflow]
        var error: String?
        var datalink: [LinkRow]
        var obscore_links: [String: ProductLink]
        var calselector: CalSelector
        var eso_tap: [String]
        var eso_associated: Int
        var eso_files: [String]
        var eso_anonymous: [String]
        var eso_bad_password: Bool
        var eso_login: Bool
        var eso_proprietary: [String]
    }

    /// Runs eso_check.py with `arguments` and astroquery's TAP address pointed at `archive`
    /// through its configuration file, in a scratch XDG home; the password goes through the
    /// environment. Its standard output.
    static func runCheck(_ archive: FakeESO, _ arguments: [String]) throws -> Data {
        let downloads = try TestEnvironment.makeScratchDirectory("eso-downloads")
        defer { try? FileManager.default.removeItem(at: downloads) }
        let result = try PythonClientCheck.run(python: try #require(esoPython), script: "eso_check.py",
                                               ["--base", archive.baseURL, "--destination", downloads.path] + arguments,
                                               astroqueryConfig: "[eso]\ntap_obs_url = \(archive.tapURL)\n", environment: ["ESO_CHECK_PASSWORD": password])
        try #require(result.status == 0, "eso_check.py failed: \(result.stderr)")
        #expect(!result.stdout.contains(password) && !result.stderr.contains(password), "the password is never printed")
        return Data(result.stdout.utf8)
    }

    static func askClients(_ archive: FakeESO) throws -> Answers {
        let answers = try runCheck(archive, ["--frame", FakeESO.fors2Frame, "--twin", FakeESO.fors2Twin, "--product", product,
                                             "--proprietary", proprietary, "--username", username])
        return try JSONDecoder().decode(Answers.self, from: answers)
    }

    static func size(_ archive: FakeESO, _ dpID: String) throws -> Int { try #require(archive.bytes(of: dpID)).count }

    @Test func pyvoAndAstroqueryGetWhatESOWouldAnswer() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let answers = try Self.askClients(archive)
        let frame = FakeESO.fors2Frame, twin = FakeESO.fors2Twin
        #expect(answers.versions["pyvo"] == "1.10.0")
        #expect(answers.versions["astroquery"] == "0.4.12.dev11095")

        let expectedRows = try [frame, twin].map { id in
            Answers.RawRow(dp_id: id, access_url: archive.fileURL(id), datalink_url: archive.datalinkURL(id), access_estsize: try Self.size(archive, id) / 1000)
        }
        #expect(answers.sync.rows == expectedRows)
        #expect(answers.sync.estsize_unit == "kbyte")
        #expect(answers.async == [twin, frame], "ORDER BY dp_id DESC through UWS")
        #expect(answers.overflow["service_limit"]?.rows == 2)
        #expect(answers.overflow["service_limit"]?.warnings == ["DALOverflowWarning"], "the service cut the answer at its default MAXREC")
        #expect(answers.overflow["asked_limit"]?.rows == 1)
        #expect(answers.overflow["asked_limit"]?.warnings == [], "pyvo 1.10 stays silent when the rows are as many as the MAXREC it sent")
        #expect(answers.error == "DALQueryError")

        let size = try Self.size(archive, frame)
        #expect(answers.datalink == [
            Answers.LinkRow(semantics: "#this", access_url: archive.fileURL(frame), content_length: size, eso_origfile: "\(frame).fits.Z", last_mod_date: "2021-01-02T09:45:03.123Z"),
            Answers.LinkRow(semantics: FakeESO.raw2rawSemantics, access_url: "\(archive.baseURL)/calselector/v1/associations?dp_id=\(frame)&mode=Raw2Raw&responseformat=votable", content_length: 500000),
            Answers.LinkRow(semantics: FakeESO.raw2masterSemantics, access_url: "\(archive.baseURL)/calselector/v1/associations?dp_id=\(frame)&mode=Raw2Master&responseformat=votable", content_length: 500000),
            Answers.LinkRow(semantics: FakeESO.nightLogSemantics, access_url: "\(archive.fileURL(frame)).NL", content_length: 500000),
        ])
        #expect(answers.obscore_links == [
            FakeESO.publisherDID(Self.product): Answers.ProductLink(eso_origfile: "\(Self.product).fits", content_length: try Self.size(archive, Self.product)),
            FakeESO.publisherDID(Self.secondProduct): Answers.ProductLink(eso_origfile: "\(Self.secondProduct).fits", content_length: try Self.size(archive, Self.secondProduct)),
        ], "pyvo's batched DataLink POST followed the OVERFLOW of one ID per answer")
        let datalinkPosts = archive.requests.filter { $0.path == "/datalink/links" && $0.method == "POST" }
        #expect(datalinkPosts.count == 2)

        #expect(answers.calselector.this == #"category="SCI_IMG_2x2_low" certified="true" complete="true" mode="Raw2Raw" type="main" messages="""#)
        #expect(answers.calselector.semantics == ["#this": 1, FakeESO.raw2masterSemantics: 1, "#calibration": 50])

        #expect(answers.eso_tap == [frame])
        #expect(answers.eso_associated == 99)
        let tree = try #require(try FakeESO.fors2Frames().first?.raw2raw)
        #expect(answers.eso_files == tree.allFiles.map { "\($0.name).fits" }.sorted(), "every .fits.Z was a stream gunzip could read")
        #expect(answers.eso_anonymous == [], "astroquery logs the 401 and drops the file")
        #expect(!answers.eso_bad_password)
        #expect(answers.eso_login)
        #expect(answers.eso_proprietary == ["\(Self.proprietary).fits"])

        let requests = archive.requests
        let calSelectorAsks = requests.filter { $0.path == "/calselector/v1/associations" }
        #expect(calSelectorAsks.map(\.method) == ["GET", "POST", "POST"], "pyvo's VOTable GET, then one POST per astroquery call (batches of 100 dp_ids)")
        #expect(calSelectorAsks.last?.bodyText.components(separatedBy: "&").filter { $0.hasPrefix("dp_id=") }.count == 1)
        let fileGets = requests.filter { $0.path.hasPrefix("/dataPortal/file/") }
        #expect(fileGets.count == 51 + 2, "astroquery asks for one file at a time: the frame and its 50 calibrations, the proprietary frame twice")
        #expect(fileGets.allSatisfy { $0.method == "GET" && $0.header("Range") == nil }, "astroquery never resumes")
        let firstGrant = try #require(requests.firstIndex { $0.path == "/sso/oidc/token" && $0.query["password"] == Self.password })
        #expect(requests.indices.filter { requests[$0].header("Authorization") != nil }.allSatisfy { $0 > firstGrant }, "no request carried a token before the login")
        let downloads = requests.filter { $0.path == "/dataPortal/file/\(Self.proprietary)" }
        #expect(downloads.map { $0.header("Authorization") != nil } == [false, true])
        #expect(downloads.last?.header("Authorization") == "Bearer \(archive.issuedTokens.last ?? "")")
    }

    /// What astroquery.eso's own pattern costs against an ESO that takes 100 ms per answer:
    /// query_tap of 1,000 frames, then retrieve_data(with_calib='raw') of them. Runs when
    /// DATAPIN_ESO_BENCHMARK is set too; prints requests and seconds.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DATAPIN_ESO_BENCHMARK"] != nil, "set DATAPIN_ESO_BENCHMARK"))
    func astroqueryRetrievesAThousandFramesWithRawCalibrationsOneFileAtATime() throws {
        let frames = FakeESO.syntheticFrames(count: 1000)
        let archive = try FakeESO(FakeESO.Configuration(frames: frames, answerDelayMilliseconds: 100))
        defer { archive.shutdown() }
        struct Timing: Decodable { var frames: Int; var files: Int; var seconds_query: Double; var seconds_retrieve: Double }
        let timing = try JSONDecoder().decode(Timing.self, from: try Self.runCheck(archive, ["--benchmark"]))
        let files = Set(frames.flatMap { $0.raw2raw?.allFiles.map(\.name) ?? [] })
        #expect(timing.frames == 1000 && timing.files == files.count)
        let requests = archive.requests
        let calSelector = requests.filter { $0.path == "/calselector/v1/associations" }.count
        let gets = requests.filter { $0.path.hasPrefix("/dataPortal/file/") }.count
        #expect(calSelector == 10, "batches of 100 dp_ids")
        #expect(gets == files.count)
        print("astroquery.eso \(timing.frames) frames, \(timing.files) files: \(requests.count) requests (1 TAP, \(calSelector) calSelector, \(gets) files), query_tap \(timing.seconds_query) s, retrieve_data \(timing.seconds_retrieve) s")
    }
}
