import DatapinKit
@testable import DatapinArchives
@testable import DatapinSpec
import Foundation
import Testing
import TestSupport

/// The SciCat adapter on the fixtures (../shared/fixtures/scicat) and against the loopback
/// SciCat in its v3 and v4 shapes: files with their subfolders, checksums by `chkAlg`, paged
/// origdatablocks, `where:` paging, anonymous and token callers.
@Suite struct SciCatArchiveTests {
    typealias Sample = FakeSciCat.Sample

    static func fixture(_ name: String) throws -> Data {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try Data(contentsOf: root.appendingPathComponent("scicat").appendingPathComponent(name))
    }

    static func archive(_ base: String, files: String?, token: String? = nil, limits: SciCatArchive.Limits = SciCatArchive.Limits(blockPageSize: 2, searchPageSize: 2)) -> SciCatArchive {
        let credentials = token.map { ArchiveCredentials(source: StaticTokenSource(token: $0, scheme: "Bearer", variable: "SCICAT_TOKEN"), hosts: ["127.0.0.1"], origin: "the token in SCICAT_TOKEN") } ?? ArchiveCredentials(hosts: ["127.0.0.1"])
        return SciCatArchive(name: "ess", baseURL: base, files: files, credentials: credentials, limits: limits, credentialVariables: token == nil ? [] : ["SCICAT_TOKEN"])
    }

    static func entry(pids: [String] = [], conditions: [WhereCondition] = []) -> DatasetEntry {
        DatasetEntry(index: 0, archive: "ess", whereConditions: conditions, pids: pids)
    }

    static func products(_ archive: SciCatArchive, _ entry: DatasetEntry) async -> Result<[Product], ArchiveError> {
        do throws(ArchiveError) {
            return .success(try await archive.products(for: entry))
        } catch {
            return .failure(error)
        }
    }

    @Test func theFixturesBecomeFilesWithTheirSubfoldersAndBlake2bChecksums() throws {
        let dataset = try SciCatJSON.dataset(try #require(try SciCatJSON.parse(Self.fixture("dataset.json"))))
        let blocks = try SciCatJSON.blocks(SciCatJSON.parse(Self.fixture("origdatablocks.json")))
        let products = try SciCatProducts.products(of: dataset, blocks: blocks, archive: "uu", filesBase: "sftp://files.uu.am")
        #expect(products.map(\.filename) == ["flux.dat", "logs/measurement.log"])
        #expect(products.map(\.url) == ["sftp://files.uu.am/hex/ps/thaum/flux.dat", "sftp://files.uu.am/hex/ps/thaum/logs/measurement.log"])
        #expect(products.map(\.size) == [20, 75])
        #expect(products.allSatisfy { $0.modified == "2022-06-29T14:01:05.000Z" && $0.dataset == "20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3" })
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent("scicat/files/hex/ps/thaum")
        for product in products {
            let bytes = try Data(contentsOf: root.appendingPathComponent(product.filename))
            #expect(product.checksum == Checksum(algorithm: "blake2b", hex: TestDigest.hex(.blake2b, of: bytes)))
        }
        #expect(LayoutEngine.path(for: products[1], layout: .nested) == "20.500.12269_72fe3ff6-105b-4c7f-b9d0-073b67c90ec3/logs/measurement.log")
        #expect(LayoutEngine.path(for: products[1], layout: .template("{dataset_name}/{filename}")) == "Thaum flux/logs/measurement.log")
    }

    @Test func checksumsFollowTheBlocksAlgorithm() throws {
        let hex64 = String(repeating: "ab", count: 32), hex32 = String(repeating: "cd", count: 16)
        func product(_ chk: String?, _ algorithm: String?) throws -> Product {
            var product = Product(archive: "a", dataset: "d", filename: "f", uri: "u", url: "https://x/f")
            try SciCatProducts.setChecksum(of: &product, chk: chk, algorithm: algorithm, pid: "d")
            return product
        }
        #expect(try product(hex64, "sha256").sha256 == hex64)
        #expect(try product(hex64, "sha256").checksum == nil)
        #expect(try product(hex32.uppercased(), "MD5").checksum == Checksum(algorithm: "md5", hex: hex32))
        let sha2 = try product(hex64, "sha2")
        #expect(sha2.sha256 == hex64, "sha2 is taken as SHA-256")
        #expect(sha2.checksum?.algorithm == "sha2" && sha2.checksum?.digestAlgorithm == nil, "and kept so the lock warns that sha2 is not an algorithm name")
        let unknown = try product("0123abcd", "xxh64")
        #expect(unknown.checksum == Checksum(algorithm: "xxh64", hex: "0123abcd") && unknown.sha256 == nil)
        #expect(try product(nil, "md5").checksum == nil)
        #expect(try product(hex32, nil).checksum == nil, "a chk without chkAlg cannot be checked: size only")
        #expect(throws: SciCatProducts.Problem.self) { try product("not-hex", "md5") }
    }

    @Test func pathsAreRelativeToTheSourceFolderAndEncodedStrictly() {
        #expect(SciCatProducts.relativePath(of: "/data/ds/sub/a.h5", in: "/data/ds") == "sub/a.h5")
        #expect(SciCatProducts.relativePath(of: "/elsewhere/a.h5", in: "/data/ds") == "/elsewhere/a.h5")
        #expect(SciCatProducts.relativePath(of: "sub/a.h5", in: "/data/ds") == "sub/a.h5")
        #expect(SciCatProducts.segment("20.500.12269/a b:c") == "20.500.12269%2Fa%20b%3Ac")
        #expect(SciCatProducts.encodedPath("/data/run 1/a#b.h5") == "/data/run%201/a%23b.h5")
        #expect(SciCatConnection.loginURL(base: "https://scicat.ess.eu/api/v4/") == "https://scicat.ess.eu/api/v3/auth/login")
        #expect(SciCatConnection.version(of: "https://scicat.ess.eu/api/v3") == .v3)
        #expect(SciCatConnection.version(of: "https://scicat.ess.eu/api/v4") == .v4)
    }

    @Test func aDatasetWhoseBlocksDisagreeWithItsTotalsIsRefused() throws {
        let dataset = SciCatDataset(pid: "p", sourceFolder: "/d", size: 10, numberOfFiles: 3, blocks: nil)
        let blocks = [SciCatBlock(id: "b", size: 10, chkAlg: nil, files: [SciCatFile(path: "a", size: 4), SciCatFile(path: "b", size: 6)])]
        #expect(throws: SciCatProducts.Problem.inconsistentTotals(pid: "p", files: 2, bytes: 10, numberOfFiles: 3, size: 10)) {
            try SciCatProducts.checkTotals(of: dataset, blocks: blocks)
        }
        try SciCatProducts.checkTotals(of: SciCatDataset(pid: "p", sourceFolder: "/d", size: 10, numberOfFiles: 2), blocks: blocks)
    }

    @Test func v3PagesTheBlocksAndListsEveryFile() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets(), blockPageLimit: 2)
        defer { scicat.shutdown() }
        let products = try await Self.products(Self.archive(scicat.v3, files: scicat.files), Self.entry(pids: [Sample.loki, Sample.thaum])).get()
        #expect(products.map(\.filename) == ["run_0001.nxs", "run_0002.nxs", "sub/run_0003.nxs", "sub/run_0004.nxs", "psi/unchecked.h5", "fast/hashed.bin", "sha2/notes.txt",
                                             "flux.dat", "logs/measurement.log", "raw/run 1.nxs"])
        let blockRequests = scicat.requests.filter { $0.path.hasSuffix("/origdatablocks") }
        #expect(blockRequests.count == 3 + 1, "six blocks at two a page take three pages, after which they hold the dataset's seven files; one page for thaum")
        #expect(scicat.requests.contains { $0.path == "/api/v3/datasets/20.500.12269%2Floki%20616254-a" }, "the PID is one strictly encoded segment")
        let run1 = try #require(products.first { $0.filename == "run_0001.nxs" })
        #expect(run1.checksum == Checksum(algorithm: "md5", hex: TestDigest.hex(.md5, of: FakeSciCat.bytes(for: "run_0001.nxs"))))
        #expect(run1.url == scicat.files + Sample.lokiFolder + "/run_0001.nxs")
        let unchecked = try #require(products.first { $0.filename == "psi/unchecked.h5" })
        #expect(unchecked.checksum == nil && unchecked.sha256 == nil && unchecked.size == Int64(FakeSciCat.bytes(for: "psi/unchecked.h5").count))
        #expect(products.first { $0.filename == "fast/hashed.bin" }?.checksum?.algorithm == "xxh64")
        let absolute = try #require(products.first { $0.filename == "raw/run 1.nxs" })
        #expect(absolute.url == scicat.files + "/ess/data/coda/2024/616254/thaum/raw/run%201.nxs")
    }

    @Test func aServerThatAnswersFewerBlocksThanAskedIsPagedOn() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets(), blockPageLimit: 4)
        defer { scicat.shutdown() }
        let products = try await Self.products(Self.archive(scicat.v3, files: scicat.files, limits: SciCatArchive.Limits()), Self.entry(pids: [Sample.loki])).get()
        #expect(products.count == 7)
        let skips = scicat.requests.filter { $0.path.hasSuffix("/origdatablocks") }.compactMap { $0.query["filter"] }
        #expect(skips == [#"{"limits":{"limit":100,"skip":0}}"#, #"{"limits":{"limit":100,"skip":4}}"#], "the second page skips the four blocks the first answered")
    }

    @Test func aServerThatIgnoresTheBlockFilterIsReadOnce() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets(), blockPageLimit: 100, ignoresBlockFilter: true)
        defer { scicat.shutdown() }
        let products = try await Self.products(Self.archive(scicat.v3, files: scicat.files), Self.entry(pids: [Sample.loki])).get()
        #expect(products.count == 7)
        #expect(scicat.requests.filter { $0.path.hasSuffix("/origdatablocks") }.count == 1, "the first answer holds every block, so the dataset's files are all there")
    }

    @Test func missingBlocksRefuseTheDataset() async throws {
        var datasets = Sample.datasets()
        datasets[1].claimedNumberOfFiles = 9
        let scicat = try FakeSciCat(datasets: datasets, blockPageLimit: 2)
        defer { scicat.shutdown() }
        let result = await Self.products(Self.archive(scicat.v3, files: scicat.files), Self.entry(pids: [Sample.loki]))
        guard case .failure(.malformedAnswer(_, let reason)) = result else { Issue.record("expected a refusal, got \(result)"); return }
        #expect(reason.contains("numberOfFiles 9") && reason.contains("list 7 files"))
    }

    @Test func v4ReadsBlocksInlineAndPublicDatasetsAnonymously() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets(), acceptedTokens: ["good"])
        defer { scicat.shutdown() }
        let anonymous = try await Self.products(Self.archive(scicat.v4, files: scicat.files), Self.entry(pids: [Sample.thaum])).get()
        #expect(anonymous.map(\.filename) == ["flux.dat", "logs/measurement.log", "raw/run 1.nxs"])
        #expect(scicat.requests.last?.uri == "/api/v4/datasets/public/20.500.12269%2F72fe3ff6-105b-4c7f-b9d0-073b67c90ec3?include=origdatablocks")
        let missing = await Self.products(Self.archive(scicat.v4, files: scicat.files), Self.entry(pids: [Sample.embargoed]))
        #expect(missing == .failure(.unknownDataset(archive: "ess", dataset: Sample.embargoed)), "the public route's empty 200 is no such dataset")
        let withToken = try await Self.products(Self.archive(scicat.v4, files: scicat.files, token: "good"), Self.entry(pids: [Sample.embargoed])).get()
        #expect(withToken.map(\.filename) == ["secret.nxs"])
        #expect(withToken.first?.sha256 == TestDigest.hex(.sha256, of: FakeSciCat.bytes(for: "secret.nxs")))
        #expect(scicat.requests.last?.header("Authorization") == "Bearer good")
    }

    @Test func aTokenSciCatDoesNotAcceptSaysItMayBeExpired() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets(), acceptedTokens: ["good"])
        defer { scicat.shutdown() }
        let v3 = await Self.products(Self.archive(scicat.v3, files: scicat.files, token: "stale"), Self.entry(pids: [Sample.embargoed]))
        guard case .failure(.notAuthorised(_, 403, let advice)) = v3 else { Issue.record("expected a refusal, got \(v3)"); return }
        #expect(advice.contains("may be expired or lack access") && advice.contains("SCICAT_TOKEN"))
        let expired = TestJWT.make(exp: Int(Date().timeIntervalSince1970) - 60)
        let v4 = await Self.products(Self.archive(scicat.v4, files: scicat.files, token: expired), Self.entry(pids: ["20.500.12269/nothing"]))
        guard case .failure(.notAuthorised(_, _, let expiredAdvice)) = v4 else { Issue.record("expected a refusal, got \(v4)"); return }
        #expect(expiredAdvice.contains("the token in SCICAT_TOKEN expired at"))
        let anonymous = await Self.products(Self.archive(scicat.v3, files: scicat.files), Self.entry(pids: [Sample.embargoed]))
        guard case .failure(.notAuthorised(_, 403, let anonymousAdvice)) = anonymous else { Issue.record("expected a refusal, got \(anonymous)"); return }
        #expect(anonymousAdvice.contains("token_env"))
        let unknown = await Self.products(Self.archive(scicat.v3, files: scicat.files), Self.entry(pids: ["20.500.12269/nothing"]))
        #expect(unknown == .failure(.unknownDataset(archive: "ess", dataset: "20.500.12269/nothing")))
    }

    @Test(arguments: [false, true])
    func whereSelectsDatasetsPageByPageSortedByPID(v4: Bool) async throws {
        var datasets = Sample.datasets()
        for number in 1...3 {
            datasets.append(FakeSciCat.Dataset(pid: "20.500.12269/extra-\(number)", datasetName: "Extra \(number)", sourceFolder: "/ess/extra/\(number)", blocks: [
                FakeSciCat.Block(id: "b-extra-\(number)", chkAlg: "md5", files: [FakeSciCat.File("e\(number).nxs")]),
            ]))
        }
        let scicat = try FakeSciCat(datasets: datasets, searchPageLimit: 2)
        defer { scicat.shutdown() }
        let archive = Self.archive(v4 ? scicat.v4 : scicat.v3, files: scicat.files)
        let products = try await Self.products(archive, Self.entry(pids: [Sample.thaum], conditions: [WhereCondition(name: "proposalId", values: ["616254"])])).get()
        #expect(Array(Set(products.map(\.dataset))).sorted() == ["20.500.12269/extra-1", "20.500.12269/extra-2", "20.500.12269/extra-3", Sample.loki, Sample.thaum].sorted())
        #expect(products.first?.dataset == Sample.thaum, "pids: come first")
        #expect(!products.contains { $0.dataset == Sample.embargoed }, "an anonymous search sees published datasets only")
        let searches = scicat.requests.filter { $0.path == (v4 ? "/api/v4/datasets/public" : "/api/v3/datasets") }
        #expect(searches.count == 3, "five matches at two a page")
        let filter = try #require(searches.first?.query["filter"])
        #expect(filter.contains(#""where":{"proposalId":"616254"}"#))
        let several = try await Self.products(archive, Self.entry(conditions: [WhereCondition(name: "proposalId", values: ["111111", "999999"])])).get()
        #expect(several.map(\.dataset) == [Sample.other])
    }

    @Test func withoutFilesTheArchiveSaysWhereFilesComeFrom() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets())
        defer { scicat.shutdown() }
        let result = await Self.products(Self.archive(scicat.v3, files: nil), Self.entry(pids: [Sample.thaum]))
        guard case .failure(.unsupportedRequest(_, let reason)) = result else { Issue.record("expected a refusal, got \(result)"); return }
        #expect(reason.contains("files:"))
    }

    @Test func fileAndSFTPBasesGiveURLsOfTheirScheme() async throws {
        let scicat = try FakeSciCat(datasets: Sample.datasets())
        defer { scicat.shutdown() }
        let sftp = try await Self.products(Self.archive(scicat.v3, files: "sftp://login.esss.dk:2222/"), Self.entry(pids: [Sample.thaum])).get()
        #expect(sftp.first?.url == "sftp://login.esss.dk:2222/ess/data/coda/2024/616254/thaum/flux.dat")
        let mounted = try await Self.products(Self.archive(scicat.v3, files: "file:///mnt/ess"), Self.entry(pids: [Sample.thaum])).get()
        #expect(mounted.last?.url == "file:///mnt/ess/ess/data/coda/2024/616254/thaum/raw/run%201.nxs")
    }

    @Test func theLoginGrantPostsJSONToV3AndReadsTheAccessToken() throws {
        let grant = TokenGrant.sciCatLogin(baseURL: "https://scicat.ess.eu/api/v4")
        let request = grant.request("ada", "pa\"ss")
        #expect(request.url == "https://scicat.ess.eu/api/v3/auth/login" && request.method == "POST")
        let body = try #require(try JSONSerialization.jsonObject(with: request.body ?? Data()) as? [String: String])
        #expect(body == ["username": "ada", "password": "pa\"ss"])
        #expect(grant.host == "scicat.ess.eu")
        #expect(grant.answer.read(Data(#"{"access_token":"jwt","id":"jwt","expires_in":3600}"#.utf8)) == GrantedToken(token: "jwt", expiresIn: 3600))
    }

    @Test func upstreamChangesCompareSizeChecksumAndTime() {
        let archive = Self.archive("http://127.0.0.1:1/api/v3", files: "https://f")
        let locked = LockEntry(path: "p/a", archive: "ess", dataset: "p", uri: "scicat:p/a", url: "https://f/a", size: 3, checksum: Checksum(algorithm: "md5", hex: "00"), modified: "t1")
        var listed = Product(archive: "ess", dataset: "p", filename: "a", uri: "scicat:p/a", url: "https://f/a", size: 4, checksum: Checksum(algorithm: "md5", hex: "11"), modified: "t2")
        #expect(archive.upstreamChanges(of: locked, listed: listed).count == 3)
        listed.size = 3; listed.checksum = locked.checksum; listed.modified = "t1"
        #expect(archive.upstreamChanges(of: locked, listed: listed).isEmpty)
        #expect(archive.upstreamChanges(of: locked, listed: nil) == [.notListed])
    }
}
