import DatapinKit
import Foundation
import Testing
import TestSupport

/// `type: vo` against a loopback TAP service: ObsCore rows become files named by
/// `Content-Disposition` or the URL, sized by DataLink or a HEAD, pinned at the first download.
@Suite struct VOCommandTests {
    static let query = "SELECT obs_publisher_did, obs_id, access_url, access_format, access_estsize, calib_level, dataproduct_type, obs_collection FROM ivoa.obscore"
    static let plateE = "potsdam/data/fits/POT032_000002E.fits", plateF = "potsdam/data/fits/POT032_000002F.fits"
    static let spectrumID = "ivo://example.org/spectra?c1"

    static func bytes(_ seed: UInt8, _ count: Int) -> Data { Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }) }
    static let plateEBytes = bytes(1, 5000), plateFBytes = bytes(2, 7000), spectrumBytes = bytes(3, 3000), dBytes = bytes(4, 1234)

    /// Four rows: a plate named by Content-Disposition, one by RFC 6266's `filename*` at a URL
    /// with a query, a spectrum behind DataLink whose file refuses HEAD, and a file that refuses
    /// HEAD and so has no size until it is downloaded.
    static let records = [
        ObsCoreRecord(publisherDID: "ivo://org.gavo.dc/~?\(plateE)", obsID: plateE, accessURL: "{base}/getproduct/\(plateE)", estimatedKilobytes: 435_344, calibLevel: 0),
        ObsCoreRecord(publisherDID: "ivo://org.gavo.dc/~?\(plateF)", obsID: plateF, accessURL: "{base}/getproduct?plate=002F", estimatedKilobytes: 435_344, calibLevel: 0),
        ObsCoreRecord(publisherDID: spectrumID, obsID: "c1", accessURL: "{base}/datalink/links?ID=ivo%3A%2F%2Fexample.org%2Fspectra%3Fc1",
                      accessFormat: FakeObsCore.dataLinkFormat, estimatedKilobytes: 3, calibLevel: 2, productType: "spectrum", collection: "Spectra"),
        ObsCoreRecord(publisherDID: "ivo://example.org/d1", obsID: "d1", accessURL: "{base}/files/d.fits", estimatedKilobytes: 2, calibLevel: 1),
    ]

    static func service(records: [ObsCoreRecord] = records, query: String = query) throws -> FakeTAP {
        let fake = try FakeTAP(.init(answers: [query: FakeObsCore.votable(records)], links: [
            spectrumID: [FakeTAP.Link(accessURL: "{base}/files/c1_spectrum.fits", contentType: "application/fits", contentLength: Int64(spectrumBytes.count))],
        ]))
        fake.serve(.init(plateEBytes, contentDisposition: "attachment; filename=\"POT032_000002E.fits\""), at: "/getproduct/\(plateE)")
        fake.serve(.init(plateFBytes, contentDisposition: "attachment; filename=\"fallback.fits\"; filename*=UTF-8''plate%20002F.fits"), at: "/getproduct")
        fake.serve(.init(spectrumBytes, refusesHEAD: true), at: "/files/c1_spectrum.fits")
        fake.serve(.init(dBytes, refusesHEAD: true), at: "/files/d.fits")
        return fake
    }

    static func project(_ fake: FakeTAP, archive: String = "", query: String = query) throws -> URL {
        let directory = try TestEnvironment.makeScratchDirectory("vo")
        try """
        version: 1
        destination: data
        archives:
          ivoa: {type: vo, url: "\(fake.tapURL)"\(archive)}
        datasets:
          - archive: ivoa
            adql: "\(query)"
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    static func lockText(_ directory: URL) throws -> String {
        try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
    }

    /// The lock's blocks by path.
    static func blocks(_ directory: URL) throws -> [String: String] {
        let text = try lockText(directory)
        var blocks: [String: String] = [:]
        for block in text.components(separatedBy: "\n- path: ").dropFirst() {
            let path = String(block.prefix { $0 != "\n" })
            blocks[path] = block + "\n"
        }
        return blocks
    }

    static let plateEPath = "potsdam_data_fits_POT032_000002E.fits/POT032_000002E.fits"
    static let plateFPath = "potsdam_data_fits_POT032_000002F.fits/plate 002F.fits"
    static let spectrumPath = "c1/c1_spectrum.fits"
    static let dPath = "d1/d.fits"

    @Test func obsCoreRowsLockWithTheirNamesExactSizesAndLevelsAndSyncPinsEveryFile() throws {
        let fake = try Self.service()
        defer { fake.shutdown() }
        let directory = try Self.project(fake)
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        let blocks = try Self.blocks(directory)
        #expect(blocks.keys.sorted() == [Self.spectrumPath, Self.dPath, Self.plateEPath, Self.plateFPath].sorted())
        #expect(blocks[Self.plateEPath]?.contains("  size: 5000\n") == true, "the HEAD's Content-Length, not access_estsize")
        #expect(blocks[Self.plateEPath]?.contains("  uri: vo:ivo://org.gavo.dc/~?\(Self.plateE)\n") == true)
        #expect(blocks[Self.plateEPath]?.contains("  level: \"0\"\n") == true)
        #expect(blocks[Self.plateFPath]?.contains("  size: 7000\n") == true)
        #expect(blocks[Self.spectrumPath]?.contains("  size: 3000\n") == true, "DataLink's content_length")
        #expect(blocks[Self.spectrumPath]?.contains("  url: \(fake.tapURL.dropLast("/tap".count))/files/c1_spectrum.fits\n") == true, "the #this row's access_url")
        #expect(blocks[Self.dPath]?.contains("  size:") == false, "no exact size is known before the download: \(blocks[Self.dPath] ?? "")")
        #expect(!(try Self.lockText(directory)).contains("435344000"), "an estimate is never locked as a size")
        let dataLinkPosts = fake.requests.filter { $0.method == "POST" && $0.path == "/datalink/links" }
        #expect(dataLinkPosts.count == 1 && FakeTAP.formItems(dataLinkPosts[0]).map(\.value) == [Self.spectrumID])

        let sync = try Datapin.run(["sync"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        let data = directory.appendingPathComponent("data")
        #expect(try Data(contentsOf: data.appendingPathComponent(Self.plateEPath)) == Self.plateEBytes)
        #expect(try Data(contentsOf: data.appendingPathComponent(Self.plateFPath)) == Self.plateFBytes)
        #expect(try Data(contentsOf: data.appendingPathComponent(Self.spectrumPath)) == Self.spectrumBytes)
        #expect(try Data(contentsOf: data.appendingPathComponent(Self.dPath)) == Self.dBytes)
        let pinned = try Self.blocks(directory)
        #expect(pinned[Self.dPath]?.contains("  size: 1234\n") == true, "the first download pins the exact size")
        for (path, bytes) in [(Self.plateEPath, Self.plateEBytes), (Self.plateFPath, Self.plateFBytes), (Self.spectrumPath, Self.spectrumBytes), (Self.dPath, Self.dBytes)] {
            #expect(pinned[path]?.contains("  sha256: \(TestDigest.hex(.sha256, of: bytes))\n") == true, "\(path) pinned")
        }
        #expect(try Datapin.run(["verify"], in: directory).status == 0)
    }

    @Test func theLockDoesNotDependOnTheOrderOfTheRows() throws {
        let fake = try Self.service()
        defer { fake.shutdown() }
        let directory = try Self.project(fake)
        #expect(try Datapin.run(["lock"], in: directory).status == 0)
        let first = try Self.lockText(directory)
        fake.answer(Self.query, with: FakeObsCore.votable(Self.records.reversed()))
        let plan = try Datapin.run(["plan", "--update", "--exit-code"], in: directory)
        #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        #expect(try Datapin.run(["lock", "--update"], in: directory).status == 0)
        #expect(try Self.lockText(directory) == first)
    }

    @Test func anOverflowIsRefusedAndTheLockIsLeftAsItWas() throws {
        let fake = try Self.service()
        defer { fake.shutdown() }
        let directory = try Self.project(fake)
        #expect(try Datapin.run(["lock"], in: directory).status == 0)
        let before = try Self.lockText(directory)
        let truncated = FakeObsCore.votable(Array(Self.records.prefix(2)))
            .replacingOccurrences(of: "</TABLE>\n</RESOURCE>", with: "</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n</RESOURCE>")
        fake.answer(Self.query, with: truncated)
        let lock = try Datapin.run(["lock", "--update"], in: directory)
        #expect(lock.status == 6, "\(lock.stderr)")
        #expect(lock.stderr.contains("truncated the answer at 2 rows"), "\(lock.stderr)")
        #expect(try Self.lockText(directory) == before)
    }

    @Test func aHostileContentDispositionNameKeepsOnlyItsLastSegment() throws {
        let fake = try Self.service()
        defer { fake.shutdown() }
        fake.serve(.init(Self.plateEBytes, contentDisposition: "attachment; filename=\"../../../etc/evil.fits\""), at: "/getproduct/\(Self.plateE)")
        let directory = try Self.project(fake)
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try Self.blocks(directory).keys.contains("potsdam_data_fits_POT032_000002E.fits/evil.fits"))
        #expect(try Datapin.run(["sync"], in: directory).status == 0)
        #expect(!FileManager.default.fileExists(atPath: directory.deletingLastPathComponent().appendingPathComponent("etc/evil.fits").path))
    }

    @Test func aFileRefusedWithoutATokenIsExclusiveAndTheTokenFetchesIt() throws {
        let fake = try Self.service()
        defer { fake.shutdown() }
        let token = "vo-s3cret-token"
        fake.serve(.init(Self.dBytes, token: token), at: "/files/d.fits")
        let directory = try Self.project(fake, archive: ", token_env: VO_TOKEN")
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try Self.blocks(directory)[Self.dPath]?.contains("  access: exclusive\n") == true)
        let skipped = try Datapin.run(["sync"], in: directory)
        #expect(skipped.status == 5, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("VO_TOKEN"), "\(skipped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/\(Self.dPath)").path))
        let fetched = try Datapin.run(["sync"], in: directory, environment: ["VO_TOKEN": token])
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("data/\(Self.dPath)")) == Self.dBytes)
        for file in ESOCommandTests.allFiles(directory) {
            #expect(!String(decoding: try Data(contentsOf: file), as: UTF8.self).contains(token), "\(file.path) holds the token")
        }
        #expect(!(fetched.stdout + fetched.stderr).contains(token))
    }

    @Test func theExampleLocksAndSyncsAgainstTheLoopbackService() throws {
        let example = TestEnvironment.packageRoot.appendingPathComponent("examples/vo-obscore/datapin.yaml")
        let loaded = try SpecLoader.load(contentsOf: example.path, grammar: ArchiveRegistry.grammar)
        let adql = try #require(loaded.spec.datasets.first?.adql)
        let fake = try Self.service(records: Array(Self.records.prefix(2)), query: adql)
        defer { fake.shutdown() }
        let directory = try TestEnvironment.makeScratchDirectory("vo-example")
        let spec = try String(contentsOf: example, encoding: .utf8).replacingOccurrences(of: "http://dc.zah.uni-heidelberg.de/tap", with: fake.tapURL)
        try spec.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 0, "\(lock.stderr)")
        #expect(try Self.blocks(directory).keys.sorted() == [Self.plateEPath, Self.plateFPath])
        let sync = try Datapin.run(["sync"], in: directory)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("data/\(Self.plateEPath)")) == Self.plateEBytes)
    }
}
