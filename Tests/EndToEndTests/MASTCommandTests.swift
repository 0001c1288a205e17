import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin lock / sync` against a loopback MAST speaking both of its APIs: the selection the
/// download overlay offers, layouts, the exclusive-access token, and what lands on disk.
@Suite struct MASTCommandTests {
    static let calibrated = "jw02734001001_02101_00001"
    static let stage3 = "jw02734-o002_t002_niriss"
    static let exclusive = "jw02734002001_02101_00001"
    static let other = "jw01366001001_04101_00001"
    static let pool = "jw02734_20220712t152522_pool.csv"
    static let guideStar = "jw02734001001_gs-fg_2022193052540_cal.fits"
    static let token = "9f1c0ffee0ddba11d00dfeedfacecafe"

    /// Program 02734 (NIRISS SOSS, as in MAST's documented CSV export), one exclusive-access
    /// exposure, a NIRSpec dataset of another program, and two HST CAOM observations.
    static func archive(token: String? = token, executingAnswers: Int = 1) throws -> FakeMAST {
        let niriss = ["program": "02734", "instrument_name": "NIRISS", "targprop": "WASP-96"]
        let datasets = [
            FakeMAST.MissionDataset(mission: "jwst", id: calibrated, columns: niriss, instrument: "NIRISS", filters: "CLEAR;GR700XD", files: [
                .init("\(calibrated)-seg001_nis_uncal.fits", category: "1b", fileSuffix: "_uncal"),
                .init("\(calibrated)-seg001_nis_rateints.fits", category: "2a", fileSuffix: "_rateints"),
                .init("\(calibrated)-seg001_nis_calints.fits", category: "2b", fileSuffix: "_calints"),
                .init("\(calibrated)-seg002_nis_calints.fits", category: "2b", fileSuffix: "_calints"),
                .init("\(calibrated)-seg001_nis_x1dints.fits", category: "2b", fileSuffix: "_x1dints"),
                .init(guideStar, category: "2b", fileSuffix: "_cal"),
                .init(pool, category: "3", fileSuffix: "_pool", type: "info"),
            ]),
            FakeMAST.MissionDataset(mission: "jwst", id: stage3, columns: niriss, instrument: "NIRISS", filters: "CLEAR;GR700XD", files: [
                .init("\(stage3)_clear-gr700xd-substrip256_x1dints.fits", category: "3", fileSuffix: "_x1dints"),
                .init("\(stage3)_clear-gr700xd-substrip256_whtlt.ecsv", category: "3", fileSuffix: "_whtlt"),
                .init(pool, category: "3", fileSuffix: "_pool", type: "info"),
            ]),
            FakeMAST.MissionDataset(mission: "jwst", id: exclusive, columns: niriss, instrument: "NIRISS", filters: "CLEAR;GR700XD", files: [
                .init("\(exclusive)-seg001_nis_calints.fits", category: "2b", fileSuffix: "_calints", exclusive: true),
                .init("\(exclusive)-seg001_nis_x1dints.fits", category: "2b", fileSuffix: "_x1dints", exclusive: true),
            ]),
            FakeMAST.MissionDataset(mission: "jwst", id: other, columns: ["program": "01366", "instrument_name": "NIRSPEC"], instrument: "NIRSPEC", filters: "CLEAR;PRISM", files: [
                .init("\(other)_nrs1_cal.fits", category: "2b", fileSuffix: "_cal"),
            ]),
            FakeMAST.MissionDataset(mission: "hst", id: "Z14Z0104T", instrument: "HRS   ", filters: "MIRROR-N2", files: [
                .init("z14z0104t_shf.fits", category: "UNCALIBRATED", fileSuffix: "SHF"),
                .init("z14z0104t_trl.fits", category: "AUX", fileSuffix: "TRL"),
                .init("z14z0104t_ulf.fits", category: "UNCALIBRATED", fileSuffix: "ULF"),
            ]),
            FakeMAST.MissionDataset(mission: "hst", id: "J8DM01ELQ", columns: ["sci_pep_id": "9503"], instrument: "ACS/WFC", filters: "F550M;CLEAR2L", files: [
                .init("j8dm01elq_raw.fits", category: "UNCALIBRATED", fileSuffix: "RAW"),
                .init("j8dm01elq_flt.fits", category: "CALIBRATED", fileSuffix: "FLT"),
                .init("j8dm01elq_flc.fits", category: "CALIBRATED", fileSuffix: "FLC"),
                .init("j8dm01elq_jif.fits", category: "AUX", fileSuffix: "JIF"),
            ]),
        ]
        let observations = [
            FakeMAST.Observation(obsid: "2003738726", collection: "HST", obsID: "U9O40504M", files: [
                .init("u9o40504m_d0f.fits", subGroup: "D0F", calibLevel: 1),
                .init("u9o40504m_c0f.fits", subGroup: "C0F", recommended: true, calibLevel: 2),
                .init("u9o40504m_c1f.fits", subGroup: "C1F", recommended: true, calibLevel: 2),
                .init("u9o40504m_drz.fits", subGroup: "DRZ", recommended: true, calibLevel: 3),
                .init("u9o40504j_jif.fits", productType: "AUXILIARY", subGroup: "JIF", calibLevel: 1),
                .init("u9o40504m_c3m.fits", productType: "AUXILIARY", subGroup: "C3M", calibLevel: 2),
                .init("u9o40504m_prev.jpg", productType: "PREVIEW", subGroup: "PREVIEW", calibLevel: 2),
            ]),
            FakeMAST.Observation(obsid: "2003738727", collection: "HST", obsID: "U9O40505M", files: [
                .init("u9o40505m_drz.fits", subGroup: "DRZ", recommended: true, calibLevel: 3, exclusive: true),
            ]),
        ]
        return try FakeMAST(datasets: datasets, observations: observations, token: token, executingAnswers: executingAnswers)
    }

    /// A project folder whose spec names `archive` as `mast`, with `body` after `archives:`.
    static func project(_ archive: FakeMAST, _ body: String) throws -> URL {
        let directory = try TestEnvironment.makeScratchDirectory("mast")
        try """
        version: 1
        destination: data
        archives:
          mast: {url: "\(archive.baseURL)"}
        \(body)
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    /// The `path:` values of the lock in `directory`.
    static func lockedPaths(_ directory: URL) throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            line.hasPrefix("- path: ") ? String(line.dropFirst("- path: ".count)) : nil
        }
    }

    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CommandResult {
        try Datapin.run(arguments, in: directory, environment: environment)
    }

    struct SelectionCase: Sendable, CustomTestStringConvertible {
        var label: String
        var select: String
        var expected: [String]
        var testDescription: String { label }
    }

    static let selectionCases: [SelectionCase] = [
        SelectionCase(label: "defaults leave guide stars out", select: "{}", expected: [
            "\(calibrated)/\(calibrated)-seg001_nis_calints.fits", "\(calibrated)/\(calibrated)-seg001_nis_rateints.fits",
            "\(calibrated)/\(calibrated)-seg001_nis_uncal.fits", "\(calibrated)/\(calibrated)-seg001_nis_x1dints.fits",
            "\(calibrated)/\(calibrated)-seg002_nis_calints.fits", "\(calibrated)/\(pool)",
            "\(stage3)/\(stage3)_clear-gr700xd-substrip256_whtlt.ecsv", "\(stage3)/\(stage3)_clear-gr700xd-substrip256_x1dints.fits",
        ]),
        SelectionCase(label: "levels", select: "{levels: [2b], extensions: [.fits]}", expected: [
            "\(calibrated)/\(calibrated)-seg001_nis_calints.fits", "\(calibrated)/\(calibrated)-seg001_nis_x1dints.fits",
            "\(calibrated)/\(calibrated)-seg002_nis_calints.fits",
        ]),
        SelectionCase(label: "levels case-insensitively", select: "{levels: [2A]}", expected: [
            "\(calibrated)/\(calibrated)-seg001_nis_rateints.fits",
        ]),
        SelectionCase(label: "suffixes", select: "{suffixes: [x1dints]}", expected: [
            "\(calibrated)/\(calibrated)-seg001_nis_x1dints.fits", "\(stage3)/\(stage3)_clear-gr700xd-substrip256_x1dints.fits",
        ]),
        SelectionCase(label: "include regex", select: "{include: ['seg00[2-9]']}", expected: [
            "\(calibrated)/\(calibrated)-seg002_nis_calints.fits",
        ]),
        SelectionCase(label: "exclude regex", select: "{levels: ['3'], exclude: ['\\.(csv|ecsv)$']}", expected: [
            "\(stage3)/\(stage3)_clear-gr700xd-substrip256_x1dints.fits",
        ]),
        SelectionCase(label: "match", select: "{match: [SUBSTRIP256]}", expected: [
            "\(stage3)/\(stage3)_clear-gr700xd-substrip256_whtlt.ecsv", "\(stage3)/\(stage3)_clear-gr700xd-substrip256_x1dints.fits",
        ]),
        SelectionCase(label: "guide stars when asked", select: "{guidestar: true, suffixes: [_cal]}", expected: [
            "\(calibrated)/\(guideStar)",
        ]),
    ]

    @Test(arguments: selectionCases)
    func missionSearchSelection(_ selection: SelectionCase) throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        select: \(selection.select)
        datasets:
          - archive: mast
            mission: jwst
            ids: [\(Self.calibrated), \(Self.stage3)]
        """)
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.lockedPaths(directory) == selection.expected.sorted())
    }

    @Test func lockRecordsMASTURIsAndDownloadURLs() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        select: {suffixes: [_x1dints]}
        datasets:
          - {archive: mast, mission: jwst, ids: [\(Self.calibrated)]}
        """)
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let lock = try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        let name = "\(Self.calibrated)-seg001_nis_x1dints.fits"
        #expect(lock.contains("uri: mast:JWST/product/\(name)"))
        #expect(lock.contains("url: \(archive.baseURL)/search/jwst/api/v0.1/retrieve_product?product_name="))
        #expect(lock.contains("level: 2b"))
        #expect(lock.contains("suffix: _x1dints"))
        #expect(lock.contains("instrument: NIRISS"))
        #expect(lock.contains("access: public"))
    }

    @Test func whereSearchesPageByPageAndListsProductsOfEveryMatch() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        layout: flat
        select: {suffixes: [_calints]}
        datasets:
          - archive: mast
            mission: jwst
            where: {program: "02734", instrument_name: [NIRISS, NIRCAM]}
        """)
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.lockedPaths(directory) == [
            "\(Self.calibrated)-seg001_nis_calints.fits", "\(Self.calibrated)-seg002_nis_calints.fits", "\(Self.exclusive)-seg001_nis_calints.fits",
        ])
        let searches = archive.requests.filter { $0.path == "/search/jwst/api/v0.1/search" }
        #expect(searches.count == 2, "three matching datasets, at most two per page")
        let bodies = searches.compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
        #expect(bodies.compactMap { $0["offset"] as? Int } == [0, 2])
        let conditions = try #require(bodies.first?["conditions"] as? [[String: String]])
        #expect(conditions.contains(["instrument_name": "NIRISS,NIRCAM"]))
        #expect(archive.requests.contains { $0.path == "/search/jwst/api/v0.1/post_list_products" })
        #expect(try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8).contains("access: exclusive"))
    }

    @Test func portalAsksAgainWhileExecutingAndReadsEveryPage() throws {
        let archive = try Self.archive(executingAnswers: 2)
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - archive: mast
            obsids: ["2003738726"]
        """)
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.lockedPaths(directory) == [
            "U9O40504M/u9o40504j_jif.fits", "U9O40504M/u9o40504m_c0f.fits", "U9O40504M/u9o40504m_c1f.fits", "U9O40504M/u9o40504m_c3m.fits",
            "U9O40504M/u9o40504m_d0f.fits", "U9O40504M/u9o40504m_drz.fits", "U9O40504M/u9o40504m_prev.jpg",
        ])
        let invocations = archive.requests.filter { $0.path == "/api/v0/invoke" }
        #expect(invocations.count == 2 + 3, "two EXECUTING answers, then three pages of at most three rows")
        let lock = try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        #expect(lock.contains("uri: mast:HST/product/u9o40504m_drz.fits"))
        #expect(lock.contains("url: \(archive.baseURL)/api/v0.1/Download/file?uri=mast:HST/product/u9o40504m_drz.fits"))
    }

    @Test func recommendedAndLevelsOnPortalProducts() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - {archive: mast, obsids: ["2003738726"], select: {recommended: true}}
          - {archive: mast, obsids: ["2003738726"], select: {levels: ["1"], types: [science]}}
        """)
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.lockedPaths(directory) == [
            "U9O40504M/u9o40504m_c0f.fits", "U9O40504M/u9o40504m_c1f.fits", "U9O40504M/u9o40504m_d0f.fits", "U9O40504M/u9o40504m_drz.fits",
        ])
    }

    @Test func hstMissionSearchCategoriesAreLevels() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        layout: flat
        select: {levels: [uncalibrated]}
        datasets:
          - {archive: mast, mission: hst, ids: [Z14Z0104T]}
        """)
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.lockedPaths(directory) == ["z14z0104t_shf.fits", "z14z0104t_ulf.fits"])
        let lock = try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        #expect(lock.contains("instrument: HRS\n"), "instrument names are trimmed")
        #expect(lock.contains("suffix: _shf"))
    }

    @Test func anUnknownDatasetIsBadInput() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        datasets:
          - {archive: mast, mission: jwst, ids: [jw09999001001_02101_00001]}
        """)
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("jw09999001001_02101_00001"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    @Test func anArchiveThatCannotBeReachedExitsSix() throws {
        let archive = try Self.archive()
        let directory = try Self.project(archive, """
        datasets:
          - {archive: mast, mission: jwst, ids: [\(Self.calibrated)]}
        """)
        archive.shutdown()
        let result = try Self.run(["lock"], in: directory)
        #expect(result.status == 6, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    @Test func aListingRefusedForTheTokenExitsFiveAndKeepsTheLock() throws {
        let server = try LoopbackServer { _ in .status(401, body: "token expired") }
        defer { server.shutdown() }
        let directory = try TestEnvironment.makeScratchDirectory("mast")
        try """
        version: 1
        archives:
          mast: {url: "\(server.baseURL)"}
        datasets:
          - {archive: mast, mission: jwst, ids: [\(Self.exclusive)]}
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let result = try Self.run(["lock"], in: directory, environment: ["MAST_API_TOKEN": "expired-token-value"])
        #expect(result.status == 5, "\(result.stderr)")
        #expect(result.stderr.contains("datapin.yaml:5:5: error: datasets[0]: \(server.baseURL)/search/jwst/api/v0.1/post_list_products answered HTTP 401: the token is missing, expired or not authorised"))
        #expect(!result.stderr.contains("expired-token-value"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    struct ExampleCase: Sendable, CustomTestStringConvertible {
        var folder: String
        var expected: [String]
        var testDescription: String { folder }
    }

    static let exampleCases = [
        ExampleCase(folder: "mast-jwst", expected: [
            "\(calibrated)/\(calibrated)-seg001_nis_calints.fits", "\(calibrated)/\(calibrated)-seg001_nis_x1dints.fits",
            "\(calibrated)/\(calibrated)-seg002_nis_calints.fits", "\(stage3)/\(stage3)_clear-gr700xd-substrip256_x1dints.fits",
        ]),
        ExampleCase(folder: "mast-hst", expected: [
            "J8DM01ELQ/j8dm01elq_flc.fits", "J8DM01ELQ/j8dm01elq_flt.fits",
            "U9O40504M/u9o40504m_c0f.fits", "U9O40504M/u9o40504m_c1f.fits", "U9O40504M/u9o40504m_drz.fits",
        ]),
    ]

    /// The examples' specs, pointed at the loopback MAST, lock and sync what their comments say.
    @Test(arguments: exampleCases)
    func examplesLockAndSync(_ example: ExampleCase) throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try TestEnvironment.makeScratchDirectory("example")
        let spec = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("examples/\(example.folder)/datapin.yaml"), encoding: .utf8)
        try (spec + "\narchives:\n  mast: {url: \"\(archive.baseURL)\"}\n").write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let lock = try Self.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try Self.lockedPaths(directory) == example.expected.sorted())
        let sync = try Self.run(["sync"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        for path in example.expected {
            let name = String(path.split(separator: "/").last!)
            #expect(FileManager.default.contents(atPath: directory.appendingPathComponent("data/\(path)").path) == FakeMAST.bytes(for: name))
        }
    }

    /// The spec of the sync tests: two public datasets sharing the pool file, and the exclusive one.
    static let syncSpec = """
    select: {extensions: [.fits, .csv]}
    datasets:
      - archive: mast
        mission: jwst
        ids: [\(calibrated), \(stage3), \(exclusive)]
    """

    @Test func withoutATokenPublicFilesLandAndExclusiveOnesAreSkipped() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, Self.syncSpec)
        #expect(try Self.run(["lock"], in: directory).status == 0)
        let result = try Self.run(["sync"], in: directory)
        #expect(result.status == 5, "\(result.stderr)")
        #expect(result.stderr.contains("skipped 2 exclusive-access files"))
        #expect(result.stderr.contains("MAST_API_TOKEN"))
        let data = directory.appendingPathComponent("data")
        #expect(FileManager.default.contents(atPath: data.appendingPathComponent("\(Self.stage3)/\(Self.stage3)_clear-gr700xd-substrip256_x1dints.fits").path)
                == FakeMAST.bytes(for: "\(Self.stage3)_clear-gr700xd-substrip256_x1dints.fits"))
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("\(Self.exclusive)/\(Self.exclusive)-seg001_nis_calints.fits").path))
        let poolDownloads = archive.requests.filter { $0.path.hasSuffix("/retrieve_product") && ($0.query["product_name"] ?? "").hasSuffix(Self.pool) }
        #expect(poolDownloads.count == 1, "a product two datasets list is downloaded once")
        #expect(!archive.requests.contains { $0.header("Authorization") != nil })
        let manifest = try String(contentsOf: data.appendingPathComponent("MANIFEST.html"), encoding: .utf8)
        #expect(manifest.contains("anonymous"))
    }

    @Test func withTheTokenExclusiveFilesLandAndTheTokenIsWrittenNowhere() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, Self.syncSpec)
        let environment = ["MAST_API_TOKEN": Self.token]
        #expect(try Self.run(["lock"], in: directory, environment: environment).status == 0)
        let result = try Self.run(["sync"], in: directory, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let name = "\(Self.exclusive)-seg001_nis_calints.fits"
        let data = directory.appendingPathComponent("data")
        #expect(FileManager.default.contents(atPath: data.appendingPathComponent("\(Self.exclusive)/\(name)").path) == FakeMAST.bytes(for: name))
        let downloads = archive.requests.filter { $0.path.hasSuffix("/retrieve_product") }
        #expect(downloads.filter { ($0.query["product_name"] ?? "").hasPrefix(Self.exclusive) }.allSatisfy { $0.header("Authorization") == "token \(Self.token)" })
        let manifest = try String(contentsOf: data.appendingPathComponent("MANIFEST.html"), encoding: .utf8)
        #expect(manifest.contains("Jane Doe"))
        #expect(!(result.stdout + result.stderr).contains(Self.token))
        try Self.expectTokenWrittenNowhere(under: directory)
    }

    @Test func aRefusedTokenNamesTheFilesAndExitsFive() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, Self.syncSpec)
        #expect(try Self.run(["lock"], in: directory).status == 0)
        let stale = "0000expired0000token0000"
        let result = try Self.run(["sync"], in: directory, environment: ["MAST_API_TOKEN": stale])
        #expect(result.status == 5, "\(result.stderr)")
        #expect(result.stderr.contains("\(Self.exclusive)-seg001_nis_calints.fits"))
        #expect(result.stderr.contains("expired"))
        #expect(!result.stderr.contains(stale))
        let data = directory.appendingPathComponent("data")
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("\(Self.calibrated)/\(Self.pool)").path))
        try Self.expectTokenWrittenNowhere(under: directory, token: stale)
    }

    @Test func portalExclusiveFilesNeedTheToken() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, """
        select: {recommended: true}
        datasets:
          - {archive: mast, obsids: ["2003738726", "2003738727"]}
        """)
        #expect(try Self.run(["lock"], in: directory).status == 0)
        #expect(try Self.run(["sync"], in: directory).status == 5)
        let result = try Self.run(["sync"], in: directory, environment: ["MAST_API_TOKEN": Self.token])
        #expect(result.status == 0, "\(result.stderr)")
        let drizzled = directory.appendingPathComponent("data/U9O40505M/u9o40505m_drz.fits")
        #expect(FileManager.default.contents(atPath: drizzled.path) == FakeMAST.bytes(for: "u9o40505m_drz.fits"))
    }

    @Test func exportsOfAMASTLock() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let directory = try Self.project(archive, Self.syncSpec)
        #expect(try Self.run(["lock"], in: directory).status == 0)

        let csv = try Self.run(["export", "csv"], in: directory)
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = csv.stdout.split(separator: "\r\n").map(String.init)
        #expect(rows.first == "Dataset,Filename,Product Level,Suffix,Instrument,Filter / Grating,Size,URI,SHA256")
        let calints = "\(Self.calibrated)-seg001_nis_calints.fits"
        #expect(rows.contains("\(Self.calibrated),\(calints),2b,_calints,NIRISS,CLEAR;GR700XD,\(FakeMAST.bytes(for: calints).count),mast:JWST/product/\(calints),"))
        #expect(rows.filter { $0.contains(",\(Self.pool),") }.count == 2, "the shared pool is listed under both datasets, as MAST's export does")

        let export = try Self.run(["export", "script", "-o", "get.sh"], in: directory, environment: ["MAST_API_TOKEN": Self.token])
        #expect(export.status == 0, "\(export.stderr)")
        let script = try String(contentsOf: directory.appendingPathComponent("get.sh"), encoding: .utf8)
        #expect(script.contains("MAST_API_TOKEN"))
        #expect(script.contains("curl"))
        #expect(!script.contains(Self.token))

        let emptyTarget = try Bash.run(["get.sh", ""], in: directory)
        #expect(emptyTarget.status == 2, "an empty target would put the files under /")

        let exclusiveName = "\(Self.exclusive)-seg001_nis_x1dints.fits"
        let anonymous = try Bash.run(["get.sh", "anonymous"], in: directory)
        #expect(anonymous.status == 5, "\(anonymous.stderr)")
        #expect(FileManager.default.contents(atPath: directory.appendingPathComponent("anonymous/\(Self.calibrated)/\(calints)").path) == FakeMAST.bytes(for: calints))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("anonymous/\(Self.exclusive)").path))

        let refused = try Bash.run(["get.sh", "refused"], in: directory, environment: ["MAST_API_TOKEN": "0000expired0000token0000"])
        #expect(refused.status == 5, "\(refused.stderr)")
        #expect(refused.stderr.contains("refused: \(Self.exclusive)/\(exclusiveName) (HTTP 403): the token is missing, expired or not authorised"))
        #expect(!refused.stderr.contains("0000expired0000token0000"))

        let before = archive.requests.count
        let withToken = try Bash.run(["get.sh", "fetched"], in: directory, environment: ["MAST_API_TOKEN": Self.token])
        #expect(withToken.status == 0, "\(withToken.stderr)")
        #expect(FileManager.default.contents(atPath: directory.appendingPathComponent("fetched/\(Self.exclusive)/\(exclusiveName)").path) == FakeMAST.bytes(for: exclusiveName))
        let downloads = archive.requests.dropFirst(before).filter { $0.path.hasSuffix("/retrieve_product") }
        #expect(downloads.filter { $0.header("Authorization") == "token \(Self.token)" }.count == 2, "the token goes with the two exclusive-access files")
        #expect(downloads.filter { $0.header("Authorization") != nil }.allSatisfy { ($0.query["product_name"] ?? "").hasPrefix(Self.exclusive) })

        #expect(try Self.run(["sync"], in: directory).status == 5)
        let manifest = try Self.run(["export", "manifest"], in: directory)
        #expect(manifest.status == 0, "\(manifest.stderr)")
        #expect(manifest.stdout.contains("<th>URI</th><th>File</th><th>Access</th><th>Status</th><th>Logged In User</th>"))
        #expect(manifest.stdout.contains("<td>mast:JWST/product/\(calints)</td><td>\(Self.calibrated)/\(calints)</td><td>public</td><td>OK</td><td>anonymous</td>"))
        #expect(manifest.stdout.contains("Duplicate of file \(Self.pool) in folder \(Self.calibrated)"))
        #expect(manifest.stdout.contains("skipped: exclusive access, no token"))
        try Self.expectTokenWrittenNowhere(under: directory)
    }

    /// Fails when any file under `directory` (the lock, the tree, `.datapin/`) holds `token`.
    static func expectTokenWrittenNowhere(under directory: URL, token: String = token, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let enumerator = try #require(FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]))
        var checked = 0
        for case let url as URL in enumerator where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let contents = try Data(contentsOf: url)
            #expect(contents.range(of: Data(token.utf8)) == nil, "\(url.path) contains the token", sourceLocation: sourceLocation)
            checked += 1
        }
        #expect(checked > 3, sourceLocation: sourceLocation)
    }
}
