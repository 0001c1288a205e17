import DatapinKit
import Foundation
import Testing
import TestSupport

/// The static-index archive: its three catalog formats, URL resolution and its errors.
@Suite("IndexArchive")
struct IndexArchiveTests {
    static let sha = (a: String(repeating: "a1", count: 32), b: String(repeating: "b2", count: 32), c: String(repeating: "C3", count: 32))

    /// Writes `text` as `name` in a fresh folder and returns the folder.
    static func folder(with name: String, _ text: String) throws -> URL {
        let folder = try TestEnvironment.makeScratchDirectory("index")
        let file = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return folder
    }

    static func entry(ids: [String] = []) -> DatasetEntry {
        DatasetEntry(index: 0, archive: "lab", ids: ids)
    }

    static func products(_ catalog: String, named name: String = "catalog.json", location: String? = nil, ids: [String] = []) async throws -> [Product] {
        let folder = try folder(with: name, catalog)
        let archive = try IndexArchive(name: "lab", location: location ?? name, baseDirectory: folder)
        return try await archive.products(for: entry(ids: ids))
    }

    static let jsonCatalog = """
    {"datasets": [
      {"id": "ds1", "instrument": "NIRISS", "filters": "CLEAR;GR700XD", "files": [
        {"name": "ds1_cal.fits", "url": "files/ds1_cal.fits", "size": 2880, "sha256": "\(sha.a)",
         "level": "2b", "suffix": "_cal", "type": "science", "access": "public", "recommended": true},
        {"name": "ds1_gs-fg_cal.fits", "size": 10, "checksum": "md5:0123456789abcdef0123456789abcdef",
         "instrument": "FGS", "unknown": {"ignored": [1, 2]}}
      ]},
      {"id": "ds2", "files": [
        {"name": "shared_pool.csv", "url": "../elsewhere/shared_pool.csv", "size": 0, "type": "association", "access": "exclusive", "guidestar": false}
      ]}
    ]}
    """

    @Test func readsAJSONCatalogWithDatasetDefaultsAndFileOverrides() async throws {
        let products = try await Self.products(Self.jsonCatalog, named: "cat/catalog.json", location: "./cat/catalog.json")
        #expect(products.map(\.filename) == ["ds1_cal.fits", "ds1_gs-fg_cal.fits", "shared_pool.csv"])
        let cal = products[0]
        #expect(cal.dataset == "ds1")
        #expect(cal.uri == "index:lab/ds1/ds1_cal.fits")
        #expect(cal.url == "cat/files/ds1_cal.fits")
        #expect(cal.identity.hasPrefix("file:///") && cal.identity.hasSuffix("/cat/files/ds1_cal.fits"))
        #expect(cal.size == 2880 && cal.sha256 == Self.sha.a && cal.checksum == nil)
        #expect(cal.level == "2b" && cal.suffix == "_cal" && cal.type == .science && cal.access == .public)
        #expect(cal.recommended && !cal.guidestar)
        #expect(cal.instrument == "NIRISS" && cal.filters == "CLEAR;GR700XD")

        let guideStar = products[1]
        #expect(guideStar.url == "cat/ds1_gs-fg_cal.fits", "the url defaults to the name, relative to the catalog")
        #expect(guideStar.checksum == Checksum(algorithm: "md5", hex: "0123456789abcdef0123456789abcdef"))
        #expect(guideStar.sha256 == nil)
        #expect(guideStar.guidestar, "a _gs- name is a guide-star file when the catalog does not say")
        #expect(guideStar.instrument == "FGS" && guideStar.filters == "CLEAR;GR700XD")

        let pool = products[2]
        #expect(pool.url == "elsewhere/shared_pool.csv")
        #expect(pool.access == .exclusive && pool.type == .association && pool.size == 0 && !pool.guidestar)
    }

    @Test func idsChooseDatasetsInTheEntrysOrderAndUnknownIdsAreNamed() async throws {
        let products = try await Self.products(Self.jsonCatalog, ids: ["ds2", "ds1"])
        #expect(products.map(\.dataset) == ["ds2", "ds1", "ds1"])
        await #expect(throws: ArchiveError.unknownDataset(archive: "lab", dataset: "ds3")) {
            try await Self.products(Self.jsonCatalog, ids: ["ds1", "ds3"])
        }
    }

    @Test(arguments: [
        (#"{"datasets": [{"id": "a", "files": [{"name": "x", "size": "big"}]}]}"#, "datasets[0].files[0].size must be a whole number"),
        (#"{"datasets": [{"id": "a", "files": []}, {"id": "b", "files": [{"name": "x"}, {"name": "y", "size": 1.5}]}]}"#, "datasets[1].files[1].size"),
        (#"{"datasets": [{"id": "a", "files": [{"name": "x", "sha256": "abc"}]}]}"#, "datasets[0].files[0].sha256 must be 64 hexadecimal digits"),
        (#"{"datasets": [{"id": "a", "files": [{"name": "x", "type": "sience"}]}]}"#, "datasets[0].files[0].type 'sience' is not one of"),
        (#"{"datasets": [{"id": "a", "files": [{"name": "x", "access": "private"}]}]}"#, "datasets[0].files[0].access 'private'"),
        (#"{"datasets": [{"id": "a", "files": [{"name": "x", "recommended": 1}]}]}"#, "datasets[0].files[0].recommended must be true or false"),
        (#"{"datasets": [{"id": "a", "files": [{"size": 3}]}]}"#, "datasets[0].files[0].name is missing"),
        (#"{"datasets": [{"id": "a"}, {"id": "a", "files": []}]}"#, "datasets[0].files is missing"),
        (#"{"datasets": [{"id": "a", "files": []}, {"id": "a", "files": []}]}"#, "datasets[1].id 'a' appears twice"),
        (#"{"sets": []}"#, "'datasets' is missing"),
        (#"{"datasets": [1]}"#, "datasets[0] must be an object"),
        ("{\"datasets\": [", "not valid JSON"),
    ])
    func malformedJSONIsNamedByItsPath(catalog: String, reason: String) async throws {
        let folder = try Self.folder(with: "catalog.json", catalog)
        do {
            _ = try IndexArchive(name: "lab", location: "catalog.json", baseDirectory: folder)
            Issue.record("expected an error containing \(reason)")
        } catch {
            guard case .malformedAnswer(let url, let message) = error else { Issue.record("unexpected \(error)"); return }
            #expect(url.hasSuffix("/catalog.json"))
            #expect(message.contains(reason), "\(message)")
        }
    }

    @Test func readsASHA256SUMSFileInBothModes() async throws {
        let sums = """
        \(Self.sha.a)  ds1/a_cal.fits
        \(Self.sha.b) *ds1/sub/b_x1d.fits
        \(Self.sha.c)  ./ds2/c with space.fits

        \(Self.sha.a)  top_level.txt
        """
        let products = try await Self.products(sums, named: "SHA256SUMS")
        #expect(products.map(\.dataset) == ["ds1", "ds1", "ds2", "SHA256SUMS"])
        #expect(products.map(\.filename) == ["a_cal.fits", "sub/b_x1d.fits", "c with space.fits", "top_level.txt"])
        #expect(products.map(\.url) == ["ds1/a_cal.fits", "ds1/sub/b_x1d.fits", "ds2/c with space.fits", "top_level.txt"])
        #expect(products[2].sha256 == Self.sha.c.lowercased())
        #expect(products.allSatisfy { $0.size == nil && $0.checksum == nil })
    }

    @Test func readsAPoochRegistry() async throws {
        let registry = """
        # pooch registry of the lab's test data
        ds1/a.fits \(Self.sha.a)
        ds1/b.fits sha256:\(Self.sha.b)
        ds2/c.fits md5:0123456789ABCDEF0123456789ABCDEF https://mirror.example.org/c.fits
        d.fits sha1:0123456789abcdef0123456789abcdef01234567
        """
        let products = try await Self.products(registry, named: "registry.txt")
        #expect(products.map(\.dataset) == ["ds1", "ds1", "ds2", "registry"])
        #expect(products[0].sha256 == Self.sha.a && products[1].sha256 == Self.sha.b)
        #expect(products[2].checksum == Checksum(algorithm: "md5", hex: "0123456789abcdef0123456789abcdef"))
        #expect(products[2].url == "https://mirror.example.org/c.fits" && products[2].identity == "https://mirror.example.org/c.fits")
        #expect(products[3].checksum?.algorithm == "sha1" && products[3].filename == "d.fits")
    }

    @Test(arguments: [
        ("ds1/a.fits nothex", "line 1: 'nothex' is not a hash"),
        ("# header\n\nds1/a.fits", "line 3 is neither"),
        ("ds1/a.fits \(String(repeating: "a", count: 64))\nds1/a.fits \(String(repeating: "b", count: 64))", "line 2: 'ds1/a.fits' is listed twice"),
        ("ds1/a.fits sha256:abcd", "line 1: a sha256 hash has 64 hexadecimal digits"),
    ])
    func malformedChecksumListsNameTheLine(catalog: String, reason: String) async throws {
        let folder = try Self.folder(with: "registry.txt", catalog)
        do {
            _ = try IndexArchive(name: "lab", location: "registry.txt", baseDirectory: folder)
            Issue.record("expected an error containing \(reason)")
        } catch {
            guard case .malformedAnswer(let url, let message) = error else { Issue.record("unexpected \(error)"); return }
            #expect(url == folder.appendingPathComponent("registry.txt").standardized.path)
            #expect(message.hasPrefix(reason), "\(message)")
        }
    }

    @Test func anAbsolutePathOrFileURLGivesAbsoluteFileURLs() async throws {
        let folder = try Self.folder(with: "catalog.json", Self.jsonCatalog)
        let path = folder.appendingPathComponent("catalog.json").path
        for location in [path, URL(fileURLWithPath: path).absoluteString] {
            let archive = try IndexArchive(name: "lab", location: location, baseDirectory: URL(fileURLWithPath: "/nonexistent"))
            let products = try await archive.products(for: Self.entry(ids: ["ds1"]))
            #expect(products[0].url == URL(fileURLWithPath: folder.appendingPathComponent("files/ds1_cal.fits").path).absoluteString, "\(location)")
            #expect(products[0].url == products[0].identity)
        }
    }

    @Test func fetchesACatalogOverHTTPAndResolvesURLsAgainstIt() async throws {
        let server = try LoopbackServer { request in
            request.path == "/pub/v1/catalog.json" ? .json(Self.jsonCatalog) : .status(404)
        }
        defer { server.shutdown() }
        let archive = try IndexArchive(name: "lab", location: "\(server.baseURL)/pub/v1/catalog.json", baseDirectory: URL(fileURLWithPath: "/"))
        let products = try await archive.products(for: Self.entry())
        #expect(products.map(\.url) == [
            "\(server.baseURL)/pub/v1/files/ds1_cal.fits",
            "\(server.baseURL)/pub/v1/ds1_gs-fg_cal.fits",
            "\(server.baseURL)/pub/elsewhere/shared_pool.csv",
        ])
        #expect(products.allSatisfy { $0.identity == $0.url })
        #expect(server.requests.count == 1, "the catalog is fetched once")
    }

    @Test func anHTTPErrorAndAMissingFileAreArchiveErrors() async throws {
        let server = try LoopbackServer { _ in .status(503, body: "maintenance") }
        defer { server.shutdown() }
        #expect(throws: ArchiveError.httpStatus(url: "\(server.baseURL)/catalog.json", status: 503)) {            _ = try IndexArchive(name: "lab", location: "\(server.baseURL)/catalog.json", baseDirectory: URL(fileURLWithPath: "/"))
        }
        let folder = try TestEnvironment.makeScratchDirectory("index")
        do {
            _ = try IndexArchive(name: "lab", location: "missing.json", baseDirectory: folder)
            Issue.record("a missing catalog must be an error")
        } catch {
            guard case .unreadable(let path, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(path == folder.appendingPathComponent("missing.json").standardized.path)
        }
    }

    @Test func searchKeysOfOtherArchivesAreRefused() async throws {
        let folder = try Self.folder(with: "catalog.json", Self.jsonCatalog)
        let archive = try IndexArchive(name: "lab", location: "catalog.json", baseDirectory: folder)
        var entry = Self.entry()
        entry.adql = "SELECT * FROM ivoa.ObsCore"
        await #expect(throws: ArchiveError.self) { try await archive.products(for: entry) }
        entry = Self.entry()
        entry.obsids = ["87602009"]
        await #expect(throws: ArchiveError.self) { try await archive.products(for: entry) }
    }
}
