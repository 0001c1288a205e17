import DatapinKit
import Foundation
import Testing
import TestSupport

/// The Python that has pyscicat and scitacean, from DATAPIN_SCICAT_PYTHON; nil when it is not set.
private let sciCatPython = ProcessInfo.processInfo.environment["DATAPIN_SCICAT_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }

/// pyscicat and scitacean, SciCat's Python clients, and datapin asked the same loopback SciCat:
/// both clients must read its datasets and origdatablocks (so the fake speaks what they speak:
/// v3 for pyscicat, v4 with `include=origdatablocks` and the public route for scitacean, and
/// `auth/login`), and list the same files, sizes and checksums datapin lists. Runs when
/// DATAPIN_SCICAT_PYTHON names a Python with both (scripts/check-fake-scicat sets it up).
@Suite(.enabled(if: sciCatPython != nil, "set DATAPIN_SCICAT_PYTHON (scripts/check-fake-scicat)"))
struct SciCatClientTests {
    typealias Sample = FakeSciCat.Sample
    static let token = TestJWT.make(exp: Int(Date().timeIntervalSince1970) + 86_400, id: 9)

    /// One file as a client lists it.
    struct Listed: Hashable, CustomStringConvertible {
        var path: String
        var size: Int64
        var chkAlg: String?
        var chk: String?
        var description: String { "\(path) \(size) \(chkAlg ?? "-"):\(chk ?? "-")" }
    }

    /// The files datapin lists for `pid` (with the token), as storage path, size and checksum.
    static func datapinListing(_ scicat: FakeSciCat, pid: String) async throws -> [Listed] {
        let credentials = ArchiveCredentials(source: StaticTokenSource(token: token, scheme: "Bearer", variable: "SCICAT_TOKEN"), hosts: ["127.0.0.1"])
        let archive = SciCatArchive(name: "ess", baseURL: scicat.v3, files: scicat.files, credentials: credentials)
        let products = try await archive.products(for: DatasetEntry(index: 0, archive: "ess", pids: [pid]))
        let blocks = Sample.datasets().first { $0.pid == pid }!.blocks
        return products.map { product in
            let path = String(product.url.dropFirst(scicat.files.count)).removingPercentEncoding ?? product.url
            let algorithm = blocks.first { $0.files.contains { FakeSciCat.Dataset.storagePath(of: $0, in: Sample.datasets().first { $0.pid == pid }!) == path } }?.chkAlg
            return Listed(path: path, size: product.size ?? -1, chkAlg: algorithm, chk: algorithm == nil ? nil : (product.checksum?.hex ?? product.sha256))
        }.sorted { $0.path < $1.path }
    }

    static func listed(_ value: Any?) -> [Listed]? {
        guard let object = value as? [String: Any], let files = object["files"] as? [[String: Any]] else { return nil }
        return files.map { Listed(path: $0["path"] as? String ?? "", size: ($0["size"] as? NSNumber)?.int64Value ?? -1, chkAlg: $0["chkAlg"] as? String, chk: $0["chk"] as? String) }
    }

    @Test func pyscicatAndScitaceanReadTheFakeAndListWhatDatapinLists() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets(), users: ["ponder": "octarine"], acceptedTokens: [Self.token])
        defer { scicat.shutdown() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(sciCatPython))
        process.arguments = [TestEnvironment.packageRoot.appendingPathComponent("scripts/lib/scicat_check.py").path, scicat.v3, Self.token, "ponder", "octarine", Sample.thaum, Sample.embargoed]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(errors)")

        let thaum = try await Self.datapinListing(scicat, pid: Sample.thaum)
        let embargoed = try await Self.datapinListing(scicat, pid: Sample.embargoed)
        let byToken = try #require(report["pyscicat token"] as? [String: Any])
        #expect(Self.listed(byToken[Sample.thaum]) == thaum, "pyscicat (v3, token): \(byToken[Sample.thaum] ?? "-")")
        #expect(Self.listed(byToken[Sample.embargoed]) == embargoed, "pyscicat (v3, token): \(byToken[Sample.embargoed] ?? "-")")
        #expect(Self.listed(report["pyscicat login"]) == embargoed, "pyscicat (auth/login): \(report["pyscicat login"] ?? "-")")
        let scitaceanToken = try #require(report["scitacean token"] as? [String: Any])
        #expect(Self.listed(scitaceanToken[Sample.thaum]) == thaum, "scitacean (v4, token): \(scitaceanToken[Sample.thaum] ?? "-")")
        #expect(Self.listed(scitaceanToken[Sample.embargoed]) == embargoed, "scitacean (v4, token): \(scitaceanToken[Sample.embargoed] ?? "-")")
        let anonymous = try #require(report["scitacean anonymous"] as? [String: Any])
        #expect(Self.listed(anonymous[Sample.thaum]) == thaum, "scitacean (v4 public): \(anonymous[Sample.thaum] ?? "-")")
        let refused = (anonymous[Sample.embargoed] as? [String: Any])?["error"] as? String ?? ""
        #expect(refused.contains("no such dataset"), "scitacean reads the public route's empty 200 as no dataset: \(refused)")
        #expect(Self.listed(report["scitacean login"]) == embargoed, "scitacean (auth/login): \(report["scitacean login"] ?? "-")")

        let paths = Set(scicat.requests.map { "\($0.method) \($0.path)" })
        #expect(paths.contains("GET /api/v3/Datasets/20.500.12269%2F72fe3ff6-105b-4c7f-b9d0-073b67c90ec3/origdatablocks"), "pyscicat's route: \(paths.sorted())")
        #expect(paths.contains("GET /api/v4/datasets/public/20.500.12269%2F72fe3ff6-105b-4c7f-b9d0-073b67c90ec3"), "scitacean's anonymous route: \(paths.sorted())")
        #expect(paths.contains("POST /api/v3/auth/login"))
    }
}
