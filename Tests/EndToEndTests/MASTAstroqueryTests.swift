import DatapinKit
import Foundation
import Testing
import TestSupport

/// The Python that has astroquery, from DATAPIN_ASTROQUERY_PYTHON; nil when it is not set.
private let astroqueryPython = ProcessInfo.processInfo.environment["DATAPIN_ASTROQUERY_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

/// astroquery 0.4.11 and `datapin lock` asked the same loopback MAST: astroquery's MastMissions
/// and Observations must work against the fake (so the fake speaks what astroquery speaks), and
/// datapin's selection must agree with astroquery's answers on which files there are, of which
/// level, which are recommended, and which observation each belongs to. Runs when
/// DATAPIN_ASTROQUERY_PYTHON names a Python with astroquery (scripts/check-fake-mast sets it up).
@Suite(.enabled(if: astroqueryPython != nil, "set DATAPIN_ASTROQUERY_PYTHON (scripts/check-fake-mast)"))
struct MASTAstroqueryTests {
    static let python = astroqueryPython

    static let exposure = "jw02734002001_04101_00001"
    static let association = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256"
    static let associationObsid = "87602100", exposureObsid = "87602101"
    static let pool = "jw02734_20220712t152522_pool.csv"
    static let guideStar = "jw02734002001_gs-fg_2022193052540_cal.fits"
    static let calints = "\(exposure)-seg001_nis_calints.fits", crfints = "\(exposure)-seg001_nis_o002_crfints.fits"

    /// The observation of Fixtures/mast/jwst/*_jw02734_o002.json, in both APIs: the exposure and
    /// the level-3 TSO association that lists its members' calints and crfints.
    static func archive() throws -> FakeMAST {
        let niriss = ["program": "02734", "instrument_name": "NIRISS"]
        let e = exposure, a = association
        let datasets = [
            FakeMAST.MissionDataset(mission: "jwst", id: e, columns: niriss, instrument: "NIRISS", filters: "CLEAR;GR700XD", files: [
                .init("\(e)-seg001_nis_uncal.fits", category: "1b", fileSuffix: "_uncal"),
                .init("\(e)-seg001_nis_rateints.fits", category: "2a", fileSuffix: "_rateints"),
                .init(calints, category: "2b", fileSuffix: "_calints"),
                .init("\(e)-seg001_nis_x1dints.fits", category: "2b", fileSuffix: "_x1dints"),
                .init(crfints, category: "2c", fileSuffix: "_crfints"),
                .init(guideStar, category: "2b", fileSuffix: "_cal"),
                .init(pool, category: "3", fileSuffix: "_pool", type: "auxiliary"),
            ]),
            FakeMAST.MissionDataset(mission: "jwst", id: a, columns: niriss, instrument: "NIRISS", filters: "CLEAR;GR700XD", files: [
                .init("\(a)_x1dints.fits", category: "3", fileSuffix: "_x1dints"),
                .init("\(a)_whtlt.ecsv", category: "3", fileSuffix: "_whtlt"),
                .init(calints, category: "2b", fileSuffix: "_calints"),
                .init(crfints, category: "2c", fileSuffix: "_crfints"),
                .init(pool, category: "3", fileSuffix: "_pool", type: "auxiliary"),
            ]),
        ]
        let observations = [
            FakeMAST.Observation(obsid: associationObsid, collection: "JWST", obsID: a, files: [
                .init("\(a)_x1dints.fits", subGroup: "X1DINTS", recommended: true, calibLevel: 3),
                .init("\(a)_whtlt.ecsv", subGroup: "WHTLT", recommended: true, calibLevel: 3),
            ], members: [exposureObsid]),
            FakeMAST.Observation(obsid: exposureObsid, collection: "JWST", obsID: e, files: [
                .init("\(e)-seg001_nis_uncal.fits", subGroup: "UNCAL", calibLevel: 1),
                .init("\(e)-seg001_nis_rateints.fits", subGroup: "RATEINTS", calibLevel: 2),
                .init(calints, subGroup: "CALINTS", recommended: true, calibLevel: 2),
                .init("\(e)-seg001_nis_x1dints.fits", subGroup: "X1DINTS", recommended: true, calibLevel: 2),
                .init(crfints, subGroup: "CRFINTS", calibLevel: 2),
                .init(guideStar, productType: "AUXILIARY", subGroup: "GS-FG", calibLevel: 2),
                .init(pool, productType: "AUXILIARY", subGroup: "POOL", calibLevel: 3),
            ]),
        ]
        return try FakeMAST(datasets: datasets, observations: observations, searchPageLimit: 5000)
    }

    /// What astroquery_check.py printed.
    struct Answers: Decodable {
        struct MissionRow: Decodable { var dataset: String; var filename: String; var category: String?; var type: String? }
        struct PortalRow: Decodable { var obs_id: String; var filename: String; var calib_level: Int; var recommended: Bool }
        var astroquery: String
        var datasets: [String]
        var products: [MissionRow]
        var levels: [String: [String]]
        var types: [String: [String]]
        var portal: [PortalRow]
        var recommended: [String]
        var download: [String: String]
    }

    /// Runs scripts/lib/astroquery_check.py with astroquery pointed at `archive` through its
    /// configuration file, in a scratch XDG home.
    static func askAstroquery(_ archive: FakeMAST) throws -> Answers {
        let result = try PythonClientCheck.run(python: try #require(astroqueryPython), script: "astroquery_check.py",
                                               ["--mission", "jwst", "--program", "02734", "--obsid", associationObsid],
                                               astroqueryConfig: "[mast]\nserver = \(archive.baseURL)\n")
        try #require(result.status == 0, "astroquery_check.py failed: \(result.stderr)")
        return try JSONDecoder().decode(Answers.self, from: Data(result.stdout.utf8))
    }

    /// `datapin lock` of one entry (`datasets` is the entry's YAML) with `select`; the lock's files.
    static func lock(_ archive: FakeMAST, select: String, dataset: String) throws -> [LockEntry] {
        let directory = try TestEnvironment.makeScratchDirectory("mast-astroquery")
        try """
        version: 1
        destination: data
        archives:
          mast: {url: "\(archive.baseURL)"}
        select: \(select)
        datasets:
          - \(dataset)
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let result = try Datapin.run(["lock"], in: directory)
        try #require(result.status == 0, "\(result.stderr)")
        return try LockReader.read(contentsOf: directory.appendingPathComponent("datapin.lock").path).files
    }

    static let missionEntry = #"{archive: mast, mission: jwst, where: {program: "02734"}}"#
    static let portalEntry = "{archive: mast, obsids: [\(associationObsid)]}"

    static func names(_ entries: [LockEntry]) -> [String] {
        entries.map { String($0.path.split(separator: "/").last ?? "") }.sorted()
    }

    @Test func datapinAndAstroqueryAgreeOnTheFilesTheirLevelsAndWhatIsRecommended() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let answers = try Self.askAstroquery(archive)
        #expect(answers.astroquery.hasPrefix("0.4.11"), "checked against astroquery \(answers.astroquery)")

        let everything = try Self.lock(archive, select: "{guidestar: true}", dataset: Self.missionEntry)
        #expect(Set(everything.flatMap { [$0.dataset] + $0.also }).sorted() == answers.datasets, "the datasets of the search")
        #expect(Self.names(everything) == Set(answers.products.map(\.filename)).sorted(), "one locked file per file astroquery lists")

        #expect(answers.levels.keys.sorted() == ["1b", "2a", "2b", "2c", "3"])
        for (level, files) in answers.levels {
            let locked = try Self.lock(archive, select: "{guidestar: true, levels: [\"\(level)\"]}", dataset: Self.missionEntry)
            #expect(Self.names(locked) == files, "level \(level)")
            #expect(locked.allSatisfy { $0.level == level })
        }
        let science = try Self.lock(archive, select: "{guidestar: true, types: [science]}", dataset: Self.missionEntry)
        #expect(Self.names(science) == answers.types["science"])
        #expect(answers.types["auxiliary"] == [Self.pool], "datapin types the pool by its name instead: an association file")

        #expect(answers.recommended.sorted() == Set(answers.portal.filter(\.recommended).map(\.filename)).sorted())
        let recommendedByMissionSearch = try Self.lock(archive, select: "{recommended: true}", dataset: Self.missionEntry)
        let recommendedByPortal = try Self.lock(archive, select: "{recommended: true}", dataset: Self.portalEntry)
        #expect(Self.names(recommendedByMissionSearch) == answers.recommended, "Mission Search's recommended files are the Portal's Minimum Recommended Products")
        #expect(Self.names(recommendedByPortal) == answers.recommended)
        #expect(!answers.recommended.contains(Self.crfints))
    }

    @Test func eachFileGoesToTheObservationThePortalSaysItBelongsTo() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let answers = try Self.askAstroquery(archive)
        let observation = Dictionary(answers.portal.map { ($0.filename, $0.obs_id) }, uniquingKeysWith: { first, _ in first })
        for entry in try Self.lock(archive, select: "{guidestar: true}", dataset: Self.missionEntry) {
            let name = String(entry.path.split(separator: "/").last ?? "")
            if name == Self.pool || name == Self.guideStar { continue }
            #expect(entry.dataset == observation[name], "\(name)")
        }
        #expect([Self.exposure, Self.association].contains(answers.download[Self.calints] ?? ""), "astroquery's download_products nests a shared file in whichever listing comes first (its dataset ids go through a set)")
        #expect(Set(answers.products.filter { $0.filename == Self.calints }.map(\.dataset)) == [Self.exposure, Self.association], "each listing's rows name the dataset asked for")
    }
}
