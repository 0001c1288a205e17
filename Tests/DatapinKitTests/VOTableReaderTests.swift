import DatapinKit
@testable import DatapinArchives
import Foundation
import Testing

/// The fixtures under Fixtures/vo and Fixtures/eso (real answers; see Fixtures/ORIGIN.md).
enum VOFixtures {
    static func url(_ name: String) throws -> URL {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return root.appendingPathComponent(name)
    }

    static func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }

    static func document(_ name: String) throws -> VOTableDocument { try VOTableDocument.parse(data(name)) }

    /// The error `parse` throws for `data`, nil when it reads it.
    static func parseError(_ data: Data) -> VOTableError? {
        do {
            _ = try VOTableDocument.parse(data)
            return nil
        } catch {
            return error
        }
    }

    static func parseError(_ text: String) -> VOTableError? { parseError(Data(text.utf8)) }
}

@Suite struct VOTableFixtureTests {
    /// Every file in Fixtures/vo and Fixtures/eso is either read as a VOTable or refused with
    /// the sentence that says why; a new fixture must be added here.
    @Test func everyFixtureIsReadOrRefusedWithAReason() throws {
        let votables: [String: Int] = [
            "vo/datalink-cutout1.xml": 6, "vo/datalink-datalink-obscore.xml": 3, "vo/datalink-datalink-ssa.xml": 1,
            "vo/datalink-datalink.xml": 4, "vo/query-errorstatus.xml": 3, "vo/query-overflowstatus.xml": 3,
            "vo/scs-binary-result.xml": 1273, "vo/tap-obscore-image.xml": 10,
        ]
        let refused: [String: VOTableError] = [
            "vo/uws-job.xml": .notVOTable(root: "uws:job"),
            "vo/uws-job-error.xml": .notVOTable(root: "uws:job"),
            "eso/FORS2.2021-01-02T00_59_12.533_raw2raw.xml": .notVOTable(root: "association"),
        ]
        let notXML: Set<String> = [
            "eso/FORS2.2021-01-02T00_59_12.533_raw2raw_multipart.xml", "eso/oidc_token.json", "eso/query_coll_vvv_sgra.csv",
            "eso/query_main_sgra.csv", "eso/testfile.fits.Z",
        ]
        var seen: Set<String> = []
        for folder in ["vo", "eso"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: VOFixtures.url(folder).path).sorted() {
                let path = "\(folder)/\(name)"
                seen.insert(path)
                let data = try VOFixtures.data(path)
                if let rows = votables[path] {
                    #expect(try VOTableDocument.parse(data).resultsTable?.rowCount == rows, "\(path)")
                } else if let expected = refused[path] {
                    #expect(VOFixtures.parseError(data) == expected, "\(path)")
                } else if notXML.contains(path) {
                    let error = VOFixtures.parseError(data)
                    guard case .notXML? = error else {
                        Issue.record("\(path): \(String(describing: error))")
                        continue
                    }
                } else {
                    Issue.record("\(path) is a fixture no test reads")
                }
            }
        }
        #expect(seen == Set(votables.keys).union(refused.keys).union(notXML))
    }

    @Test func theBinaryConeSearchAnswerHas1273RowsOfTypedValues() throws {
        let document = try VOFixtures.document("vo/scs-binary-result.xml")
        #expect(document.version == "1.1")
        #expect(document.namespace == "http://www.ivoa.net/xml/VOTable/v1.1")
        #expect(document.queryStatus == .ok)
        let table = try #require(document.resultsTable)
        #expect(table.name == "ndtmwngpwgpa")
        #expect(table.rowCount == 1273)
        #expect(table.fields.map(\.name) == ["raj2000", "dej2000", "detection_time", "energy_cor", "position_error", "glong", "glat", "exposure_time", "id"])
        #expect(table.fields.map(\.datatype) == [.double, .double, .double, .float, .float, .float, .float, .float, .char])
        #expect(table.fields[8].arraysize == VOArraySize("*"))
        #expect(table.fields[0].unit == "deg")
        #expect(table.fields[3].ucd == "phys.energy;em.X-ray")
        // Values decoded independently (Python's struct on the same base64) for the first and last rows.
        let first = table[row: 0]
        #expect(first.double("raj2000") == 77.6581)
        #expect(first.double("DEJ2000") == 1.68358)
        #expect(first.double("detection_time") == 1990.65777659664)
        #expect(first.double("energy_cor") == Double(Float(0.15)))
        #expect(first.double("glong") == Double(Float(199.248)))
        #expect(first.double("exposure_time") == Double(Float(384.78)))
        #expect(first.string("id") == "1522124650242182041")
        let last = table[row: 1272]
        #expect(last.double("raj2000") == 78.2784)
        #expect(last.double("glat") == Double(Float(-20.5286)))
        #expect(last.string("id") == "446896630097839093")
        let resource = try #require(document.resultsResource)
        #expect(resource.infos.first { $0.name == "queryPars" }?.content == "{'SR0': 0.5, 'DEC0': 2.0, 'RA0': 78.0}")
    }

    @Test func theObsCoreAnswerReadsTypesNullsAndSizesThroughTheUnit() throws {
        let document = try VOFixtures.document("vo/tap-obscore-image.xml")
        #expect(document.queryStatus == .ok)
        #expect(document.resultsResource?.type == nil)
        let table = try #require(document.resultsTable)
        #expect(table.rowCount == 10)
        #expect(table.fields.count == 36)
        let row = table[row: 0]
        #expect(row["calib_level"] == .integer(0))
        #expect(row.string("OBS_ID") == "potsdam/data/fits/POT032_000002E.fits")
        #expect(row.string("obs_publisher_did") == "ivo://org.gavo.dc/~?potsdam/data/fits/POT032_000002E.fits")
        #expect(row.string("access_format") == "image/fits")
        #expect(row["dataproduct_subtype"] == .null)
        #expect(row["t_exptime"] == .null, "NaN is null")
        #expect(row["t_xel"] == .null, "VALUES null=\"-1\"")
        #expect(row.integer("s_xel1") == 14930)
        #expect(row.double("s_ra") == 3.50857212362378)
        #expect(row["no_such_column"] == nil)
        #expect(try row.bytes("access_estsize", unitIfMissing: VOSize.obsCoreEstimateUnit) == 435_344_000)
        #expect(table[row: 9].string("instrument_name") == "Potsdam T-berg, POT032")
        #expect(table.column(utype: "OBSCORE:OBS.CALIBLEVEL") == table.column(named: "calib_level"))
    }

    @Test func theDataLinkAnswerKeepsServiceDescriptorsAndTheirParams() throws {
        let document = try VOFixtures.document("vo/datalink-datalink.xml")
        let table = try #require(document.resultsTable)
        #expect(table.rows.map { $0.string("semantics") } == ["#progenitor", "#proc", "#this", "#preview"])
        #expect(table[row: 1].string("service_def") == "ndndtdihpgea")
        #expect(table[row: 1]["access_url"] == .null)
        #expect(try table[row: 2].bytes("content_length", unitIfMissing: VOSize.byteUnit) == 100_800)
        #expect(try table[row: 3].bytes("content_length", unitIfMissing: VOSize.byteUnit) == nil, "VALUES null=\"-1\"")
        let descriptor = try #require(document.resource(id: "ndndtdihpgea"))
        #expect(descriptor.isServiceDescriptor)
        #expect(descriptor.param(named: "accessURL")?.value == .string("http://dc.zah.uni-heidelberg.de/flashheros/q/sdl/dlget"))
        let inputs = try #require(descriptor.groups.first { $0.name == "inputParams" })
        #expect(inputs.params.map(\.name) == ["ID", "FLUXCALIB", "BAND", "FORMAT"])
        #expect(inputs.param(named: "band")?.field.arraysize == VOArraySize("2"))
        #expect(inputs.param(named: "band")?.field.unit == "m")
        #expect(inputs.param(named: "band")?.value == .null)
        #expect(document.serviceDescriptors.count == 1)
    }

    @Test func theCutoutAnswerReadsBooleansAndAStatusAfterTheTable() throws {
        let document = try VOFixtures.document("vo/datalink-cutout1.xml")
        #expect(document.version == "1.4")
        #expect(document.queryStatus == .ok)
        let table = try #require(document.resultsTable)
        #expect(table.rows.map { $0.boolean("readable") } == Array(repeating: true, count: 6))
        #expect(table.rows.map { $0.integer("content_length") } == [18_616_320, nil, nil, 21_692_160, nil, nil])
        #expect(document.serviceDescriptors.count == 4)
        let circle = document.resource(id: "soda-146cec58-9031-4568-9aeb-380eabb50942")?.param(named: "CIRCLE")
        #expect(circle?.field.datatype == .double)
        #expect(circle?.field.xtype == "circle")
    }

    @Test func theObsCoreDataLinkAnswerHasNullSizesAndAFixedSizeAccessURL() throws {
        let document = try VOFixtures.document("vo/datalink-datalink-obscore.xml")
        let table = try #require(document.resultsTable)
        #expect(table.rows.map { $0.string("obs_id") } == ["54150", "54151", "54151"])
        #expect(table[row: 2].string("obs_publisher_did") == "ivo://cadc.nrc.ca/MACHO?54151/cal054151r")
        #expect(table[row: 0]["access_estsize"] == .null)
        #expect(table[row: 0].string("access_format") == "application/x-votable+xml;content=datalink")
        #expect(table.fields.first { $0.name == "obs_publisher_did" }?.arraysize == VOArraySize("256*"))
        #expect(table.fields.first { $0.name == "obs_publisher_did" }?.arraysize.variableLimit == 256)
        #expect(document.serviceDescriptors.first?.param(named: "accessURL")?.value == .string("https://example.com/obscore-datalink"))
    }

    @Test func theSSAAnswerIsFoundByUtypeAndHasArrays() throws {
        let document = try VOFixtures.document("vo/datalink-datalink-ssa.xml")
        let table = try #require(document.resultsTable)
        let reference = try #require(table.column(utype: "SSA:ACCESS.REFERENCE"))
        #expect(table[row: 0][column: reference] == .string("http://dc.zah.uni-heidelberg.de/getproduct/flashheros/data/ca90/f0011.mt"))
        let size = try #require(table.column(utype: "ssa:Access.Size"))
        #expect(try table.bytes(row: 0, column: size, unitIfMissing: VOSize.byteUnit) == 100_800)
        #expect(table[row: 0]["location_arr"] == .array([.double(304.446675349555), .double(38.0329313131891)]))
        #expect(table[row: 0]["target_arr"] == .array([.null, .null]))
        #expect(table[row: 0].string("ssa_fluxcalib") == "NORMALIZED")
        #expect(document.infos.first { $0.name == "legal" } != nil)
        #expect(document.serviceDescriptors.count == 2)
    }
}

@Suite struct VOTableSerialisationTests {
    static func votable(namespace: String? = "http://www.ivoa.net/xml/VOTable/v1.3", fields: String, data: String, prefix: String = "") -> String {
        let p = prefix.isEmpty ? "" : prefix + ":"
        let declaration = namespace.map { prefix.isEmpty ? " xmlns=\"\($0)\"" : " xmlns:\(prefix)=\"\($0)\"" } ?? ""
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <\(p)VOTABLE version="1.4"\(declaration)><\(p)RESOURCE type="results"><\(p)TABLE>\(fields)<\(p)DATA>\(data)</\(p)DATA></\(p)TABLE></\(p)RESOURCE></\(p)VOTABLE>
        """
    }

    static let twoFields = #"<FIELD name="n" datatype="int"/><FIELD name="s" datatype="char" arraysize="*"/>"#
    static let oneRow = "<TABLEDATA><TR><TD>7</TD><TD>seven &amp; more</TD></TR></TABLEDATA>"

    @Test(arguments: ["http://www.ivoa.net/xml/VOTable/v1.1", "http://www.ivoa.net/xml/VOTable/v1.2", "http://www.ivoa.net/xml/VOTable/v1.3", nil])
    func everyVOTableNamespaceAndNoneIsRead(namespace: String?) throws {
        let document = try VOTableDocument.parse(Data(Self.votable(namespace: namespace, fields: Self.twoFields, data: Self.oneRow).utf8))
        #expect(document.namespace == namespace ?? "")
        #expect(document.resultsTable?[row: 0].values == [.integer(7), .string("seven & more")])
    }

    @Test func aPrefixedNamespaceIsRead() throws {
        let text = Self.votable(fields: #"<v:FIELD name="n" datatype="int"/>"#, data: "<v:TABLEDATA><v:TR><v:TD>7</v:TD></v:TR></v:TABLEDATA>", prefix: "v")
        #expect(try VOTableDocument.parse(Data(text.utf8)).resultsTable?[row: 0]["N"] == .integer(7))
    }

    @Test func anotherNamespaceIsRefused() {
        let text = Self.votable(namespace: "http://example.com/not-votable", fields: Self.twoFields, data: Self.oneRow)
        #expect(VOFixtures.parseError(text) == .unknownNamespace("http://example.com/not-votable"))
        #expect(VOFixtures.parseError(text)?.message == "its VOTABLE element is in the namespace 'http://example.com/not-votable', which is no VOTable version's")
    }

    @Test func tabledataCellsAreTypedAfterTheirFields() throws {
        let fields = """
        <FIELD name="b" datatype="boolean"/><FIELD name="u" datatype="unsignedByte"/><FIELD name="h" datatype="long"/>\
        <FIELD name="f" datatype="float"><VALUES null="-99"/></FIELD><FIELD name="c" datatype="doubleComplex"/>\
        <FIELD name="bits" datatype="bit" arraysize="4"/><FIELD name="one" datatype="int" arraysize="1"/><FIELD name="s" datatype="char" arraysize="3"/>
        """
        let rows = """
        <TABLEDATA><TR><TD>T</TD><TD>255</TD><TD>0x1F</TD><TD>-99</TD><TD>1.5 -2</TD><TD>1 0 1 1</TD><TD> 5 </TD><TD>abc</TD></TR>\
        <TR><TD>?</TD><TD/><TD>-9223372036854775808</TD><TD>+Inf</TD><TD/><TD>0110</TD><TD>6</TD><TD></TD></TR></TABLEDATA>
        """
        let table = try #require(try VOTableDocument.parse(Data(Self.votable(fields: fields, data: rows).utf8)).resultsTable)
        #expect(table[row: 0].values == [.boolean(true), .integer(255), .integer(31), .null, .array([.double(1.5), .double(-2)]),
                                         .array([.integer(1), .integer(0), .integer(1), .integer(1)]), .integer(5), .string("abc")])
        #expect(table[row: 1].values == [.null, .null, .integer(Int64.min), .double(.infinity), .null,
                                         .array([.integer(0), .integer(1), .integer(1), .integer(0)]), .integer(6), .null])
    }

    @Test func aCellThatIsNotItsDatatypeNamesRowAndField() {
        let text = Self.votable(fields: Self.twoFields, data: "<TABLEDATA><TR><TD>7</TD><TD>x</TD></TR><TR><TD>eight</TD><TD>y</TD></TR></TABLEDATA>")
        #expect(VOFixtures.parseError(text) == .badCell(row: 1, field: "n", text: "eight", datatype: .int))
        #expect(VOFixtures.parseError(text)?.message == "row 2 of the table has 'eight' in the field 'n', which is not a int")
        let outOfRange = Self.votable(fields: #"<FIELD name="u" datatype="unsignedByte"/>"#, data: "<TABLEDATA><TR><TD>256</TD></TR></TABLEDATA>")
        #expect(VOFixtures.parseError(outOfRange) == .badCell(row: 0, field: "u", text: "256", datatype: .unsignedByte))
    }

    @Test func aRaggedRowIsRefused() {
        let text = Self.votable(fields: Self.twoFields, data: "<TABLEDATA><TR><TD>7</TD></TR></TABLEDATA>")
        #expect(VOFixtures.parseError(text) == .rowWidth(row: 0, cells: 1, fields: 2))
    }

    @Test func aTruncatedAnswerIsRefused() {
        let text = Self.votable(fields: Self.twoFields, data: Self.oneRow)
        let cut = String(text.prefix(text.count - 30))
        #expect(VOFixtures.parseError(cut) == .truncated)
        #expect(VOFixtures.parseError("") == .notVOTable(root: nil))
        #expect(VOFixtures.parseError("<html><body>Sign in</body></html>") == .notVOTable(root: "html"))
    }

    @Test func unknownDatatypesAndArraysizesAreRefused() {
        #expect(VOFixtures.parseError(Self.votable(fields: #"<FIELD name="x" datatype="text"/>"#, data: "")) == .unknownDatatype(field: "x", datatype: "text"))
        #expect(VOFixtures.parseError(Self.votable(fields: #"<FIELD name="x" datatype="char" arraysize="0x*"/>"#, data: "")) == .badArraysize(field: "x", arraysize: "0x*"))
    }

    @Test func arraysizesAreRead() throws {
        let multi = try #require(VOArraySize("2x3x*"))
        #expect(multi.dimensions == [2, 3])
        #expect(multi.isVariable)
        #expect(multi.variableLimit == nil)
        #expect(multi.description == "2x3x*")
        #expect(VOArraySize("12*")?.variableLimit == 12)
        #expect(VOArraySize("12*")?.dimensions == [])
        #expect(VOArraySize("5")?.fixedCount == 5)
        #expect(VOArraySize(nil)?.isScalar == true)
        #expect(VOArraySize("*x3") == nil)
    }

    @Test func fitsAndRemoteStreamsAreRefused() {
        #expect(VOFixtures.parseError(Self.votable(fields: Self.twoFields, data: "<FITS><STREAM href=\"http://x/f.fits\"/></FITS>")) == .unsupportedSerialization("FITS"))
        #expect(VOFixtures.parseError(Self.votable(fields: Self.twoFields, data: "<BINARY><STREAM href=\"http://x/s\"/></BINARY>")) == .unsupportedSerialization("a remote stream (http://x/s)"))
        #expect(VOFixtures.parseError(Self.votable(fields: Self.twoFields, data: "<BINARY><STREAM encoding=\"gzip\">AAAA</STREAM></BINARY>")) == .unsupportedSerialization("a stream encoded 'gzip'"))
    }

    /// A BINARY2 answer written byte by byte from the VOTable 1.3 standard (§5.5, and 1.4/1.5
    /// which keep it): every row starts with ⌊(N+7)/8⌋ bytes of null flags, the most
    /// significant bit of the first byte for the first FIELD, 1 meaning null; then each field
    /// as in BINARY (big-endian, variable arrays led by a 4-byte element count, fixed `char`
    /// NUL-padded, `unicodeChar` UTF-16BE, `bit` arrays packed from the most significant bit);
    /// a null field's bytes are still written. The stream is then base64 with CRLF every 76
    /// characters. No real BINARY2 answer is among the fixtures.
    @Test func aBinary2AnswerBuiltFromTheStandardIsRead() throws {
        let fields = """
        <FIELD name="id" datatype="long"/><FIELD name="name" datatype="char" arraysize="*"/><FIELD name="flag" datatype="boolean"/>\
        <FIELD name="mag" datatype="float"/><FIELD name="code" datatype="char" arraysize="4"/><FIELD name="counts" datatype="short" arraysize="3"/>\
        <FIELD name="ra" datatype="double"/><FIELD name="label" datatype="unicodeChar" arraysize="*"/><FIELD name="bits" datatype="bit" arraysize="10"/>\
        <FIELD name="vals" datatype="int" arraysize="2*"/>
        """
        let row1: [UInt8] = [
            0x00, 0x00,                                      // null flags: 10 fields → 2 bytes, none set
            0, 0, 0, 0, 0, 0, 0, 42,                         // id: long 42
            0, 0, 0, 5, 0x4E, 0x47, 0x43, 0x20, 0x31,        // name: count 5, "NGC 1"
            0x54,                                            // flag: 'T'
            0x41, 0x48, 0x00, 0x00,                          // mag: float 12.5
            0x41, 0x42, 0x00, 0x00,                          // code: "AB" NUL-padded to 4
            0x00, 0x01, 0xFF, 0xFE, 0x01, 0x2C,              // counts: 1, -2, 300
            0x40, 0x54, 0xE8, 0, 0, 0, 0, 0,                 // ra: double 83.625
            0, 0, 0, 2, 0x03, 0xA9, 0x00, 0x78,              // label: count 2, "Ωx" in UTF-16BE
            0xB0, 0x40,                                      // bits: 1011000001, then padding
            0, 0, 0, 2, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF,  // vals: count 2, 7, -1
        ]
        let row2: [UInt8] = [
            0x91, 0x40,                                      // null flags: id (0x80), mag (0x10), label (0x01); vals (second byte 0x40)
            0, 0, 0, 0, 0, 0, 0, 0,                          // id: written though null
            0, 0, 0, 3, 0x4D, 0x33, 0x31,                    // name: "M31"
            0x46,                                            // flag: 'F'
            0x7F, 0xC0, 0x00, 0x00,                          // mag: NaN, and flagged
            0x58, 0x59, 0x5A, 0x57,                          // code: "XYZW", no padding needed
            0, 0, 0, 0, 0, 0,                                // counts: 0, 0, 0
            0xBF, 0xF8, 0, 0, 0, 0, 0, 0,                    // ra: double -1.5
            0, 0, 0, 0,                                      // label: null, an empty array
            0x00, 0x00,                                      // bits: all 0
            0, 0, 0, 0,                                      // vals: null, an empty array
        ]
        let stream = Data(row1 + row2).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let text = Self.votable(fields: fields, data: "<BINARY2><STREAM encoding=\"base64\">\n\(stream)\n</STREAM></BINARY2>")
        let table = try #require(try VOTableDocument.parse(Data(text.utf8)).resultsTable)
        #expect(table.rowCount == 2)
        #expect(table[row: 0].values == [
            .integer(42), .string("NGC 1"), .boolean(true), .double(12.5), .string("AB"), .array([.integer(1), .integer(-2), .integer(300)]),
            .double(83.625), .string("Ωx"), .array([1, 0, 1, 1, 0, 0, 0, 0, 0, 1].map { .integer($0) }), .array([.integer(7), .integer(-1)]),
        ])
        #expect(table[row: 1].values == [
            .null, .string("M31"), .boolean(false), .null, .string("XYZW"), .array([.integer(0), .integer(0), .integer(0)]),
            .double(-1.5), .null, .array(Array(repeating: .integer(0), count: 10)), .null,
        ])
        let asBinary = Self.votable(fields: fields, data: "<BINARY><STREAM encoding=\"base64\">\(stream)</STREAM></BINARY>")
        #expect(VOFixtures.parseError(asBinary) != nil, "the same bytes read without null flags do not fit the fields")
    }

    @Test func aStreamThatEndsInsideARowIsRefused() {
        let fields = #"<FIELD name="a" datatype="int"/><FIELD name="b" datatype="double"/>"#
        let stream = Data([0, 0, 0, 1, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x3F]).base64EncodedString()
        let text = Self.votable(fields: fields, data: "<BINARY><STREAM encoding=\"base64\">\(stream)</STREAM></BINARY>")
        #expect(VOFixtures.parseError(text) == .badStream("it ends inside row 2 (5 bytes left over)"))
        let notBase64 = Self.votable(fields: fields, data: "<BINARY><STREAM encoding=\"base64\">AAAA*AAA</STREAM></BINARY>")
        #expect(VOFixtures.parseError(notBase64) == .badStream("'*' is not a base64 character"))
    }

    /// Given a whole document at once (`XMLParser(data:)`), libxml2 refuses one past 10 MB;
    /// the reader feeds it from a stream, so a 12 MB BINARY stream and an 11 MB TABLEDATA
    /// answer are read.
    @Test func answersLargerThanLibxml2sChunkLimitAreRead() throws {
        let rows = 1_100_000
        var bytes = [UInt8]()
        bytes.reserveCapacity(rows * 8)
        for index in 0..<rows {
            let bits = Double(index).bitPattern
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
        let stream = Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        #expect(stream.utf8.count > 11_000_000)
        let text = Self.votable(fields: #"<FIELD name="x" datatype="double"/>"#, data: "<BINARY><STREAM encoding='base64'>\(stream)</STREAM></BINARY>")
        let table = try #require(try VOTableDocument.parse(Data(text.utf8)).resultsTable)
        #expect(table.rowCount == rows)
        #expect(table[row: rows - 1]["x"] == .double(Double(rows - 1)))

        let row = "<TR><TD>12345</TD><TD>https://dataportal.eso.org/dataPortal/file/FORS2.2021-01-02T00:59:12.533</TD></TR>\n"
        let tableRows = 11_000_000 / row.utf8.count + 1
        let tabledata = Self.votable(fields: Self.twoFields, data: "<TABLEDATA>" + String(repeating: row, count: tableRows) + "</TABLEDATA>")
        let large = try #require(try VOTableDocument.parse(Data(tabledata.utf8)).resultsTable)
        #expect(large.rowCount == tableRows)
        #expect(large[row: tableRows - 1].values == [.integer(12345), .string("https://dataportal.eso.org/dataPortal/file/FORS2.2021-01-02T00:59:12.533")])
    }
}
