import DatapinKit
@testable import DatapinArchives
import Foundation
import Testing

/// How much memory reading a 100 MB answer takes. Run alone, it measures the process's peak
/// resident size (Linux's VmHWM, reset through /proc/self/clear_refs once the document is
/// built) over its resident size before the parse:
/// `DATAPIN_VO_MEMORY=1 swift test --filter VOTableMemoryTests`. Skipped otherwise: other
/// tests running beside it would be counted too.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["DATAPIN_VO_MEMORY"] != nil))
struct VOTableMemoryTests {
    static let target = 100_000_000

    static let fields = """
    <FIELD name="obs_id" datatype="char" arraysize="*"/><FIELD name="obs_publisher_did" datatype="char" arraysize="*"/>\
    <FIELD name="access_url" datatype="char" arraysize="*"/><FIELD name="access_format" datatype="char" arraysize="*"/>\
    <FIELD name="access_estsize" datatype="long" unit="kbyte"/><FIELD name="calib_level" datatype="short"/>\
    <FIELD name="s_ra" datatype="double"/><FIELD name="s_dec" datatype="double"/>\
    <FIELD name="dataproduct_type" datatype="char" arraysize="*"/><FIELD name="obs_collection" datatype="char" arraysize="*"/>
    """

    static func texts(_ row: Int) -> [String] {
        let id = "ADP.2021-01-02T00:59:12.\(String(format: "%07d", row))"
        return [id, "ivo://eso.org/ID?\(id)", "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?\(id)",
                "application/x-votable+xml;content=datalink", "image", "VVV"]
    }

    static func head(_ serialisation: String) -> Data {
        Data("<?xml version=\"1.0\"?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\"><RESOURCE type=\"results\"><TABLE>\(fields)<DATA><\(serialisation)>".utf8)
    }

    static func tabledata() -> (Data, rows: Int) {
        var data = head("TABLEDATA")
        data.reserveCapacity(target + 1000)
        var rows = 0
        while data.count < target {
            let text = texts(rows)
            let cells = [text[0], text[1], text[2], text[3], String(58631 + rows % 1000), String(rows % 4), String(266.41480694 + Double(rows) * 1e-6), String(-29.00877 - Double(rows) * 1e-6), text[4], text[5]]
            data.append(contentsOf: ("<TR>" + cells.map { "<TD>\($0)</TD>" }.joined() + "</TR>\n").utf8)
            rows += 1
        }
        data.append(contentsOf: "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n".utf8)
        return (data, rows)
    }

    /// BINARY2: 2 bytes of null flags (10 fields), then the fields; every 20th row has a null calib_level.
    static func binary2() -> (Data, rows: Int) {
        var data = head("BINARY2><STREAM encoding=\"base64\"")
        data.reserveCapacity(target + 1000)
        var pending: [UInt8] = []
        var rows = 0
        func append(_ value: UInt64, bytes: Int) { for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) { pending.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
        func append(_ text: String) {
            append(UInt64(text.utf8.count), bytes: 4)
            pending.append(contentsOf: text.utf8)
        }
        func flush(all: Bool) {
            let count = all ? pending.count : pending.count / 57 * 57
            data.append(contentsOf: Data(pending[..<count]).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed]).utf8)
            data.append(0x0A)
            pending.removeFirst(count)
        }
        while data.count + pending.count * 4 / 3 < target {
            let text = texts(rows)
            pending.append(rows % 20 == 0 ? 0x04 : 0x00)
            pending.append(0x00)
            append(text[0]); append(text[1]); append(text[2]); append(text[3])
            append(UInt64(58631 + rows % 1000), bytes: 8)
            append(UInt64(rows % 4), bytes: 2)
            append((266.41480694 + Double(rows) * 1e-6).bitPattern, bytes: 8)
            append((-29.00877 - Double(rows) * 1e-6).bitPattern, bytes: 8)
            append(text[4]); append(text[5])
            rows += 1
            if pending.count > 57_000 { flush(all: false) }
        }
        flush(all: true)
        data.append(contentsOf: "</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>\n".utf8)
        return (data, rows)
    }

    /// kB of a line of /proc/self/status.
    static func status(_ key: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(key + ":") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    static func measure(_ name: String, _ build: () -> (Data, rows: Int)) throws {
        let (data, rows) = build()
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = try status("VmRSS")
        let started = Date()
        let document = try VOTableDocument.parse(data)
        let seconds = Date().timeIntervalSince(started)
        let peak = try status("VmHWM")
        let table = try #require(document.resultsTable)
        #expect(table.rowCount == rows)
        #expect(table[row: rows - 1].string("obs_collection") == "VVV")
        let size = Double(data.count) / 1e6
        let extra = Double(peak - before) / 1000
        print("\(name): \(String(format: "%.1f", size)) MB, \(rows) rows; resident before \(before / 1000) MB, peak \(peak / 1000) MB: the parse added \(String(format: "%.0f", extra)) MB (\(String(format: "%.2f", extra / size))× the answer) in \(String(format: "%.1f", seconds)) s")
        #expect(extra < 3 * size, "a 100 MB answer needs no more than a few times its size")
    }

    @Test func a100MBTabledataAnswer() throws { try Self.measure("TABLEDATA", Self.tabledata) }

    @Test func a100MBBinary2Answer() throws { try Self.measure("BINARY2", Self.binary2) }
}
