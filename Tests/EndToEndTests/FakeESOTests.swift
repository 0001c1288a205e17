import Foundation
import Testing
import TestSupport

/// One HTTP exchange made with the curl command, which follows no redirect unless asked: the
/// status, headers and body exactly as the fake sent them.
private struct Exchange {
    var status: Int
    var headers: [(String, String)]
    var body: Data
    /// curl's exit status (18 for a body shorter than its Content-Length).
    var curlStatus: Int32
    var seconds: Double

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// `curl -X method url` with `headers` and a form `body`.
    static func send(_ url: String, method: String = "GET", form: [(String, String)]? = nil, headers: [String: String] = [:]) throws -> Exchange {
        let folder = try TestEnvironment.makeScratchDirectory("fake-eso-curl")
        defer { try? FileManager.default.removeItem(at: folder) }
        let head = folder.appendingPathComponent("head"), body = folder.appendingPathComponent("body")
        var arguments = ["-s", "-g", "-D", head.path, "-o", body.path]
        arguments += method == "HEAD" ? ["-I"] : ["-X", method]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        if let form {
            let encoded = form.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
            let bodyFile = folder.appendingPathComponent("form")
            try Data(encoded.utf8).write(to: bodyFile)
            arguments += ["-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", "@\(bodyFile.path)"]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments + [url]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = Date()
        try process.run()
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        let lines = (try? String(contentsOf: head, encoding: .utf8))?.components(separatedBy: "\r\n") ?? []
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        let fields = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Exchange(status: status, headers: fields, body: (try? Data(contentsOf: body)) ?? Data(), curlStatus: process.terminationStatus, seconds: seconds)
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The texts of every `<TR>`'s cells, in order (the fake writes one TR per line).
private func rows(_ votable: String) -> [[String]] {
    votable.components(separatedBy: "\n").filter { $0.contains("<TR>") }.map { line in
        line.components(separatedBy: "<TD").dropFirst().map { cell in
            if cell.hasPrefix("/>") { return "" }
            let text = cell.dropFirst().components(separatedBy: "</TD>").first ?? ""
            return text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        }
    }
}

/// `data` decompressed by `gzip -dc` (which reads Unix compress), or nil when gzip refuses it.
private func uncompress(_ data: Data) throws -> Data? {
    let folder = try TestEnvironment.makeScratchDirectory("fake-eso-z")
    defer { try? FileManager.default.removeItem(at: folder) }
    let input = folder.appendingPathComponent("file.Z"), output = folder.appendingPathComponent("file")
    try data.write(to: input)
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gzip", "-dc", input.path]
    process.standardOutput = try FileHandle(forWritingTo: output)
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0 ? try Data(contentsOf: output) : nil
}

/// The loopback ESO over HTTP: every endpoint's exact answers for the fixtures' FORS2 frame.
@Suite struct FakeESOTests {
    static let frame = FakeESO.fors2Frame, twin = FakeESO.fors2Twin

    static func archive(_ change: (inout FakeESO.Configuration) -> Void = { _ in }) throws -> FakeESO {
        var configuration = try FakeESO.Configuration.fors2()
        change(&configuration)
        return try FakeESO(configuration)
    }

    static func size(_ archive: FakeESO, _ dpID: String) throws -> Int { try #require(archive.bytes(of: dpID)).count }

    fileprivate static func query(_ archive: FakeESO, _ adql: String, maxrec: String? = nil) throws -> Exchange {
        try Exchange.send("\(archive.tapURL)/sync", method: "POST", form: [("REQUEST", "doQuery"), ("LANG", "ADQL"), ("QUERY", adql)] + (maxrec.map { [("MAXREC", $0)] } ?? []))
    }

    // MARK: TAP

    @Test func syncAnswersTheAskedColumnsOfDboRawExactly() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let adql = "SELECT dp_id, access_estsize FROM dbo.raw WHERE dp_id = '\(Self.frame)'"
        let answer = try Self.query(archive, adql)
        let size = try Self.size(archive, Self.frame)
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type") == "application/x-votable+xml")
        #expect(answer.text == """
        <?xml version="1.0" encoding="UTF-8"?>
        <VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.4">
          <RESOURCE type="results">
            <INFO name="QUERY_STATUS" value="OK"/>
            <INFO name="QUERY" value="SELECT dp_id, access_estsize FROM dbo.raw WHERE dp_id = '\(Self.frame)'"/>
            <TABLE>
              <FIELD ID="dp_id" name="dp_id" datatype="char" arraysize="*" ucd="meta.id;meta.main"/>
              <FIELD ID="access_estsize" name="access_estsize" datatype="long" unit="kbyte" ucd="phys.size;meta.file"/>
              <DATA>
                <TABLEDATA>
                  <TR><TD>\(Self.frame)</TD><TD>\(size / 1000)</TD></TR>
                </TABLEDATA>
              </DATA>
            </TABLE>
          </RESOURCE>
        </VOTABLE>

        """)
    }

    @Test func everyRawColumnOfBothFramesInTheirOrderOrSorted() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let all = rows(try Self.query(archive, "SELECT * FROM dbo.raw WHERE dp_id IN ('\(Self.twin)', '\(Self.frame)', 'FORS2.unknown')").text)
        let size = try Self.size(archive, Self.frame)
        #expect(all.first == [String(size / 1000), archive.fileURL(Self.frame), archive.datalinkURL(Self.frame), "SCIENCE", Self.frame, "IMAGE", "OBJECT", "FORS2",
                              "2021-01-02T09:45:03.123Z", "FORS2_IMG_SCI002_0001.fits", "106.21JK.001", "2022-01-02T01:05:12.000Z"])
        #expect(all.map { $0[4] } == [Self.frame, Self.twin])
        let sorted = rows(try Self.query(archive, "SELECT TOP 5 dp_id FROM dbo.raw ORDER BY dp_id DESC").text)
        #expect(sorted == [[Self.twin], [Self.frame]])
        #expect(rows(try Self.query(archive, "select dp_id from ivoa.ObsCore").text).isEmpty, "no products among the fixtures' frames")
    }

    @Test func rowsPastMAXRECAreCutAndMarkedOverflowAfterTheTable() throws {
        let archive = try Self.archive { $0.defaultMaxrec = 1 }
        defer { archive.shutdown() }
        for answer in [try Self.query(archive, "SELECT dp_id FROM dbo.raw"), try Self.query(archive, "SELECT dp_id FROM dbo.raw", maxrec: "1")] {
            #expect(rows(answer.text) == [[Self.frame]])
            let ok = try #require(answer.text.range(of: #"<INFO name="QUERY_STATUS" value="OK"/>"#))
            let table = try #require(answer.text.range(of: "</TABLE>"))
            let overflow = try #require(answer.text.range(of: #"<INFO name="QUERY_STATUS" value="OVERFLOW"/>"#))
            #expect(ok.upperBound < table.lowerBound && table.upperBound < overflow.lowerBound)
        }
        let enough = try Self.query(archive, "SELECT dp_id FROM dbo.raw", maxrec: "2")
        #expect(rows(enough.text).count == 2 && !enough.text.contains("OVERFLOW"))
    }

    @Test func aQueryItDoesNotUnderstandIsAnError() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let answer = try Self.query(archive, "SELECT * FROM dbo.raw WHERE exp_start > '2021-01-01'")
        #expect(answer.status == 400)
        #expect(answer.text.contains(#"<INFO name="QUERY_STATUS" value="ERROR">Unsupported condition: exp_start &gt; '2021-01-01'</INFO>"#))
        #expect(try Self.query(archive, "SELECT nope FROM dbo.raw").text.contains(#"value="ERROR">Column not found: nope</INFO>"#))
        #expect(try Self.query(archive, "DROP TABLE dbo.raw").text.contains(#"value="ERROR">Cannot parse query: DROP TABLE dbo.raw</INFO>"#))
    }

    @Test func asyncJobsRunThroughUWS() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let created = try Exchange.send("\(archive.tapURL)/async", method: "POST", form: [("REQUEST", "doQuery"), ("LANG", "ADQL"), ("QUERY", "SELECT dp_id FROM dbo.raw ORDER BY dp_id"), ("MAXREC", "5")])
        #expect(created.status == 303)
        let job = try #require(created.header("Location"))
        #expect(job == "\(archive.tapURL)/async/1337")
        #expect(try Exchange.send(job).text.contains("<uws:phase>PENDING</uws:phase>"))
        #expect(try Exchange.send("\(job)/results/result").status == 404)

        let run = try Exchange.send("\(job)/phase", method: "POST", form: [("PHASE", "RUN")])
        #expect(run.status == 303 && run.header("Location") == job)
        #expect(try Exchange.send("\(job)?WAIT=5").text.contains("<uws:phase>EXECUTING</uws:phase>"), "one poll answers EXECUTING")
        let done = try Exchange.send("\(job)?WAIT=5").text
        #expect(done.contains("<uws:phase>COMPLETED</uws:phase>"))
        #expect(done.contains(#"<uws:result id="result" xlink:href="\#(job)/results/result"/>"#))
        #expect(try Exchange.send("\(job)/phase").text == "COMPLETED")
        #expect(rows(try Exchange.send("\(job)/results/result").text) == [[Self.frame], [Self.twin]])

        let deleted = try Exchange.send(job, method: "DELETE")
        #expect(deleted.status == 303 && deleted.header("Location") == "\(archive.tapURL)/async")
        #expect(try Exchange.send(job).status == 404)
    }

    @Test func anAsyncQueryItCannotRunEndsInERRORWithTheMessage() throws {
        let archive = try Self.archive { $0.executingPolls = 0 }
        defer { archive.shutdown() }
        let created = try Exchange.send("\(archive.tapURL)/async", method: "POST", form: [("QUERY", "SELECT 1"), ("PHASE", "RUN")])
        let job = try #require(created.header("Location"))
        let answer = try Exchange.send("\(job)?WAIT=1").text
        #expect(answer.contains("<uws:phase>ERROR</uws:phase>"))
        #expect(answer.contains("<uws:message>Cannot parse query: SELECT 1</uws:message>"))
    }

    // MARK: DataLink

    @Test func datalinkGivesTheExactFileAndTheCalSelectorLinks() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let answer = try Exchange.send(archive.datalinkURL(Self.frame))
        let id = FakeESO.publisherDID(Self.frame)
        let size = try Self.size(archive, Self.frame)
        let base = archive.baseURL
        #expect(rows(answer.text) == [
            [id, archive.fileURL(Self.frame), "", "", "#this", "Requested file", "application/x-fits;compress=Z", String(size), "\(Self.frame).fits.Z", "SCIENCE_IMG",
             archive.datalinkURL(Self.frame), "2021-01-02T09:45:03.123Z"],
            [id, "\(base)/calselector/v1/associations?dp_id=\(Self.frame)&mode=Raw2Raw&responseformat=votable", "", "", FakeESO.raw2rawSemantics,
             "Raw calibrations (calSelector Raw2Raw)", "application/x-votable+xml;content=datalink", "500000", "", "", "", ""],
            [id, "\(base)/calselector/v1/associations?dp_id=\(Self.frame)&mode=Raw2Master&responseformat=votable", "", "", FakeESO.raw2masterSemantics,
             "Processed calibrations (calSelector Raw2Master)", "application/x-votable+xml;content=datalink", "500000", "", "", "", ""],
            [id, "\(archive.fileURL(Self.frame)).NL", "", "", FakeESO.nightLogSemantics, "Night log", "text/plain", "500000", "", "", "", ""],
        ])
        #expect(answer.text.contains(#"<FIELD ID="content_length" name="content_length" datatype="long" unit="byte""#))
        #expect(try Exchange.send("\(archive.fileURL(Self.frame)).NL").status == 200)
    }

    @Test func datalinkAnswersManyIDsPerPostAndOverflowsAtAWholeID() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let bias = "FORS2.2020-12-26T08:54:31.688"
        let ids = [FakeESO.publisherDID(Self.twin), FakeESO.publisherDID(bias), "ivo://eso.org/ID?FORS2.nothing"]
        let all = rows(try Exchange.send("\(archive.baseURL)/datalink/links", method: "POST", form: ids.map { ("ID", $0) }).text)
        #expect(all.map { $0[0] } == [ids[0], ids[0], ids[0], ids[0], ids[1], ids[2]], "a calibration frame has only its #this row")
        let biasSize = try Self.size(archive, bias)
        #expect(all[4][7] == String(biasSize) && all[4][9] == "BIAS")
        #expect(all[5] == [ids[2], "", "", "NotFoundFault: \(ids[2])", "#this", "", "", "-1", "", "", "", ""])

        archive.update { $0.datalinkIDLimit = 1 }
        let capped = try Exchange.send("\(archive.baseURL)/datalink/links?ID=\(ids[1])&ID=\(ids[0])")
        #expect(rows(capped.text).map { $0[0] } == [ids[1]])
        #expect(capped.text.contains(#"<INFO name="QUERY_STATUS" value="OVERFLOW"/>"#))
    }

    // MARK: calSelector

    @Test func calSelectorAnswersTheRecordedTreeAndMultipartAnswer() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let url = "\(archive.baseURL)/calselector/v1/associations"
        let single = try Exchange.send(url, method: "POST", form: [("dp_id", Self.frame), ("mode", "Raw2Raw")])
        #expect(single.status == 200)
        #expect(single.body == (try FakeESO.fixture("FORS2.2021-01-02T00_59_12.533_raw2raw.xml")))
        #expect(single.header("Content-Type") == "application/xml; content=calselector")
        #expect(single.header("Content-Disposition") == "attachment; filename=\"\(Self.frame)_raw2raw.xml\"")

        let both = try Exchange.send(url, method: "POST", form: [("dp_id", Self.frame), ("dp_id", Self.twin), ("mode", "raw2raw")])
        #expect(both.body == (try FakeESO.fixture("FORS2.2021-01-02T00_59_12.533_raw2raw_multipart.xml")), "parts in reverse request order, as recorded")
        #expect(both.header("Content-Type") == "multipart/form-data; boundary=\(FakeESO.multipartBoundary);charset=UTF-8")
    }

    @Test func calSelectorVOTableFlagsTheTreeAndListsEveryCalibrationWithItsSize() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let answer = try Exchange.send("\(archive.baseURL)/calselector/v1/associations?dp_id=\(Self.frame)&mode=RAW2MASTER&responseformat=votable")
        let all = rows(answer.text)
        let id = FakeESO.publisherDID(Self.frame)
        #expect(all.count == 52)
        #expect(all[0] == [id, archive.fileURL(Self.frame), "", "", "#this",
                           #"category="SCI_IMG_2x2_low" certified="true" complete="true" mode="Raw2Raw" type="main" messages="""#,
                           "application/x-fits;compress=Z", String(try Self.size(archive, Self.frame)), "SCIENCE_IMG", archive.datalinkURL(Self.frame)],
                "no Raw2Master tree: the executed mode is Raw2Raw")
        let treeXML = try FakeESO.fixture("FORS2.2021-01-02T00_59_12.533_raw2raw.xml")
        #expect(all[1] == [id, "\(archive.baseURL)/calselector/v1/associations?dp_id=\(Self.frame)&mode=Raw2Master", "", "", FakeESO.raw2masterSemantics,
                           "Association tree (calSelector Raw2Master)", "application/xml", String(treeXML.count), "ASSOCIATION_TREE", ""])
        let calibrations = all.dropFirst(2)
        #expect(calibrations.allSatisfy { $0[4] == "#calibration" && $0[0] == id })
        let master = "M.FORS2.2015-08-05T11:20:17.466"
        let masterRow = try #require(calibrations.first { $0[1] == archive.fileURL(master) })
        let masterSize = try Self.size(archive, master)
        #expect(masterRow[6] == "application/fits" && masterRow[7] == String(masterSize) && masterRow[8] == "FLX_STD_IMG")
        for row in calibrations {
            let dpID = String(row[1].dropFirst(archive.fileURL("").count))
            #expect(row[7] == String(try Self.size(archive, dpID)), "\(dpID)")
        }
        #expect(!answer.text.contains("eso_origfile"))
    }

    @Test func otherScienceFramesOfAnAssociationAreSiblingsAndUncertifiedTreesSaySo() throws {
        let science = "FORS2.2021-05-05T01:00:00.000", sibling = "FORS2.2021-05-05T01:05:00.000"
        let tree = FakeESO.Association(category: "SCI_IMG", certified: false, complete: false, mode: "Raw2Raw",
                                       files: [.init(category: "SCIENCE_IMG", name: science), .init(category: "SCIENCE_IMG", name: sibling)],
                                       messages: ["no flat within 7 days"], associations: [.init(category: "BIAS", match: "calib_plan", files: [.init(category: "BIAS", name: "FORS2.2021-05-05T09:00:00.000")])])
        let archive = try FakeESO(FakeESO.Configuration(frames: [FakeESO.Frame(science, raw2raw: tree)]))
        defer { archive.shutdown() }
        let all = rows(try Exchange.send("\(archive.baseURL)/calselector/v1/associations?dp_id=\(science)&mode=Raw2Raw&responseformat=votable").text)
        #expect(all.map { $0[4] } == ["#this", FakeESO.raw2masterSemantics, FakeESO.siblingSemantics, "#calibration"])
        #expect(all[0][5] == #"category="SCI_IMG" certified="false" complete="false" mode="Raw2Raw" type="main" messages="no flat within 7 days""#)
        let xml = try Exchange.send("\(archive.baseURL)/calselector/v1/associations?dp_id=\(science)&mode=Raw2Raw").text
        #expect(xml.contains(#"<association category="SCI_IMG" certified="false" complete="false" mode="Raw2Raw" type="main">"#))
        #expect(xml.contains("<message>no flat within 7 days</message>"))

        archive.update { $0.frames[0].raw2raw?.certified = true }
        #expect(try Exchange.send("\(archive.baseURL)/calselector/v1/associations?dp_id=\(science)&mode=Raw2Raw").text.contains(#"certified="true""#), "ESO certifies a tree later")
    }

    // MARK: Auth and files

    @Test func thePasswordGrantAnswersAsTheFixtureWithAJWTOfTheConfiguredLifetime() throws {
        let archive = try Self.archive { $0.tokenLifetime = 600 }
        defer { archive.shutdown() }
        let grant = "\(archive.tokenURL)?response_type=id_token%20token&grant_type=password&client_id=clientid&username=ada&password=correct%20horse"
        let answer = try Exchange.send(grant)
        #expect(answer.status == 200)
        let body = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
        let recorded = try #require(try JSONSerialization.jsonObject(with: FakeESO.fixture("oidc_token.json")) as? [String: Any])
        #expect(body.keys.sorted() == recorded.keys.sorted())
        #expect(body["token_type"] as? String == "bearer" && body["expires_in"] as? Int == 600)
        let token = try #require(body["id_token"] as? String)
        let payload = try #require(token.split(separator: ".").dropFirst().first)
        var base64 = payload.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        let decoded = try #require(Data(base64Encoded: base64))
        let claims = try #require(try JSONSerialization.jsonObject(with: decoded) as? [String: Any])
        let iat = try #require(claims["iat"] as? Int), exp = try #require(claims["exp"] as? Int)
        #expect(exp - iat == 600 && claims["nbf"] as? Int == iat - 300)
        #expect(claims["iss"] as? String == "https://www.eso.org/sso/oidc" && claims["aud"] as? String == "clientid")
        #expect(archive.issuedTokens == [token])

        let wrong = try Exchange.send(grant.replacingOccurrences(of: "correct%20horse", with: "wrong"))
        #expect(wrong.status == 401)
        #expect((try? JSONSerialization.jsonObject(with: wrong.body)) == nil, "ESO's refusal is not JSON")
        #expect(archive.issuedTokens.count == 1)
    }

    @Test func theDataPortalServesTheFileByNameWithRanges() throws {
        let archive = try Self.archive()
        defer { archive.shutdown() }
        let whole = try Exchange.send(archive.fileURL(Self.frame))
        let bytes = try #require(archive.bytes(of: Self.frame))
        #expect(whole.status == 200 && whole.body == bytes)
        #expect(whole.header("Content-Disposition") == "attachment; filename=\"\(Self.frame).fits.Z\"")
        #expect(whole.header("Accept-Ranges") == "bytes")
        let fits = try #require(try uncompress(bytes), "a .fits.Z that gzip reads")
        #expect(String(decoding: fits.prefix(80), as: UTF8.self).hasPrefix("SIMPLE  =                    T"))
        #expect(String(decoding: fits.prefix(2880), as: UTF8.self).contains("ARCFILE = '\(Self.frame).fits'"))
        #expect(fits.count % 2880 == 0)

        let tail = try Exchange.send(archive.fileURL(Self.frame), headers: ["Range": "bytes=100-"])
        #expect(tail.status == 206 && tail.body == bytes.dropFirst(100))
        #expect(tail.header("Content-Range") == "bytes 100-\(bytes.count - 1)/\(bytes.count)")
        let head = try Exchange.send(archive.fileURL(Self.frame), method: "HEAD")
        #expect(head.status == 200 && head.header("Content-Length") == String(bytes.count))
        #expect(try Exchange.send(archive.fileURL("FORS2.none")).status == 404)
        #expect(archive.downloadCounts[Self.frame] == 2, "HEAD is not a download")
    }

    @Test func aProprietaryFileNeedsAValidBearerTokenOrBasicAuth() throws {
        let archive = try Self.archive { $0.proprietary = [FakeESOTests.frame]; $0.tokenLifetime = 3600 }
        defer { archive.shutdown() }
        let url = archive.fileURL(Self.frame)
        #expect(try Exchange.send(url).status == 401)
        #expect(try Exchange.send(url, headers: ["Authorization": "Bearer made.up.token"]).status == 401)
        let grant = try Exchange.send(archive.tokenURL, method: "POST", form: [("grant_type", "password"), ("client_id", "clientid"), ("username", "ada"), ("password", "correct horse")])
        let token = try #require((try JSONSerialization.jsonObject(with: grant.body) as? [String: Any])?["id_token"] as? String)
        #expect(try Exchange.send(url, headers: ["Authorization": "Bearer \(token)"]).status == 200)
        #expect(try Exchange.send(url, headers: ["Authorization": "Basic \(Data("ada:correct horse".utf8).base64EncodedString())"]).status == 200)
        #expect(try Exchange.send(archive.fileURL(Self.twin)).status == 200, "other frames stay public")
        #expect(archive.authorizedRequests.map(\.path) == Array(repeating: "/dataPortal/file/\(Self.frame)", count: 3), "the made-up token, the granted one and Basic")

        archive.update { $0.tokenLifetime = -1 }
        let expired = try Exchange.send(archive.tokenURL, method: "POST", form: [("grant_type", "password"), ("client_id", "clientid"), ("username", "ada"), ("password", "correct horse")])
        let old = try #require((try JSONSerialization.jsonObject(with: expired.body) as? [String: Any])?["id_token"] as? String)
        #expect(try Exchange.send(url, headers: ["Authorization": "Bearer \(old)"]).status == 401, "an expired token is refused")
    }

    @Test func aLoginPageCanStandInForAFile() throws {
        let archive = try Self.archive { $0.loginPageInsteadOf = [FakeESOTests.frame] }
        defer { archive.shutdown() }
        let answer = try Exchange.send(archive.fileURL(Self.frame))
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type") == "text/html; charset=utf-8")
        #expect(answer.text.hasPrefix("<!DOCTYPE html>"))
    }

    @Test func rewrittenHeadersChangeTheBytesButNotTheSize() throws {
        let archive = try Self.archive { $0.rewritesHeaders = [FakeESOTests.frame] }
        defer { archive.shutdown() }
        let first = try Exchange.send(archive.fileURL(Self.frame)).body
        let second = try Exchange.send(archive.fileURL(Self.frame)).body
        #expect(first.count == second.count && first != second)
        let one = try #require(try uncompress(first)), two = try #require(try uncompress(second))
        #expect(one.dropFirst(2880) == two.dropFirst(2880), "only the header differs")
        #expect(one.prefix(2880) != two.prefix(2880))
        let twin = try Exchange.send(archive.fileURL(Self.twin)).body
        #expect(twin == (try Exchange.send(archive.fileURL(Self.twin)).body), "frames not listed are served the same each time")
    }

    @Test func aCutFirstDownloadThenResumes() throws {
        let archive = try Self.archive { $0.cutFirstDownload = [FakeESOTests.frame: 1000] }
        defer { archive.shutdown() }
        let bytes = try #require(archive.bytes(of: Self.frame))
        let cut = try Exchange.send(archive.fileURL(Self.frame))
        #expect(cut.curlStatus == 18 && cut.body == bytes.prefix(1000))
        let rest = try Exchange.send(archive.fileURL(Self.frame), headers: ["Range": "bytes=1000-"])
        #expect(rest.status == 206 && cut.body + rest.body == bytes)
    }

    @Test func everyAnswerCanBeHeldBack() throws {
        let archive = try Self.archive { $0.answerDelayMilliseconds = 300 }
        defer { archive.shutdown() }
        let answer = try Self.query(archive, "SELECT dp_id FROM dbo.raw")
        #expect(rows(answer.text).count == 2)
        #expect(answer.seconds >= 0.3)
    }

    // MARK: Data

    @Test func theRecordedTreesHaveTheFixturesNames() throws {
        let frames = try FakeESO.fors2Frames()
        let single = try #require(frames[0].raw2raw), twin = try #require(frames[1].raw2raw)
        #expect(single.allFiles.count == 51 && single.files == [.init(category: "SCIENCE_IMG", name: Self.frame)])
        #expect(single.mode == "Raw2Raw" && single.certified && single.complete)
        #expect(single.associations.map(\.category) == ["FLAT_SKY", "STD_IMA", "STD_IMA", "STD_IMA", "BIAS"])
        let inputs: Set = [Self.frame, Self.twin]
        #expect(Set(single.allFiles.map(\.name) + twin.allFiles.map(\.name)).subtracting(inputs).count == 99)
        var rendered = single
        rendered.recorded = nil
        var reread = try FakeESO.Association.parse(rendered.xml)
        reread.recorded = nil
        #expect(reread == rendered, "a rendered tree reads back the same")
    }

    @Test(arguments: [0, 1, 255, 256, 257, 511, 512, 5000, 70000, 140_000])
    func unixCompressWritesWhatGzipReads(length: Int) throws {
        let data = Data((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 300) })
        let compressed = UnixCompress.compress(data)
        #expect(compressed.count == UnixCompress.compressedSize(ofLength: length))
        #expect(try uncompress(compressed) == data)
    }

    @Test func syntheticFramesShareTheirCalibrations() throws {
        let frames = FakeESO.syntheticFrames(count: 1000)
        #expect(Set(frames.map(\.dpID)).count == 1000)
        let files = Set(frames.flatMap { $0.raw2raw?.allFiles.map(\.name) ?? [] })
        #expect(files.count == 1000 + 1000 + 100 * 5 + 20 * 10 + 1, "science, standards, flats per ten frames, biases per fifty, one master")
    }
}
