import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension FakeESO {
    /// One row of the fake's TAP tables: a raw frame of `dbo.raw`, or a product (`ADP.…`) of
    /// `ivoa.ObsCore`, with the file the data portal serves for it and its calSelector trees.
    public struct Frame: Sendable {
        public var dpID: String
        public var instrument: String
        /// `dp_cat`: SCIENCE, CALIB, ACQUISITION, …
        public var category: String
        public var type: String
        public var tech: String
        public var progID: String
        public var origfile: String
        public var releaseDate: String
        public var lastModified: String
        /// ObsCore's `obs_collection` and `calib_level` (products only).
        public var collection: String
        public var calibLevel: Int
        /// The file's name in `Content-Disposition` and DataLink's `eso_origfile`.
        public var filename: String
        /// The bytes served; nil for generated ones (see `FakeESO.fileBytes`).
        public var bytes: Data?
        /// calSelector's answer for `mode=Raw2Raw`; nil for a frame without calibrations.
        public var raw2raw: Association?
        /// calSelector's answer for `mode=Raw2Master`; nil makes it fall back to `raw2raw`
        /// (executed mode Raw2Raw), as ESO does when no master calibrations exist.
        public var raw2master: Association?

        public init(_ dpID: String, instrument: String? = nil, category: String = "SCIENCE", type: String = "OBJECT", tech: String = "IMAGE",
                    progID: String = "106.21JK.001", origfile: String? = nil, releaseDate: String = "2022-01-02T01:05:12.000Z",
                    lastModified: String = "2021-01-02T09:45:03.123Z", collection: String = "FORS2", calibLevel: Int = 3,
                    filename: String? = nil, bytes: Data? = nil, raw2raw: Association? = nil, raw2master: Association? = nil) {
            self.dpID = dpID
            self.instrument = instrument ?? (dpID.hasPrefix("M.") || dpID.hasPrefix("ADP.") ? "FORS2" : String(dpID.prefix { $0 != "." }))
            self.category = category
            self.type = type
            self.tech = tech
            self.progID = progID
            self.origfile = origfile ?? "\(self.instrument)_\(dpID.suffix(12).filter(\.isNumber)).fits"
            self.releaseDate = releaseDate
            self.lastModified = lastModified
            self.collection = collection
            self.calibLevel = calibLevel
            self.filename = filename ?? FakeESO.servedName(of: dpID)
            self.bytes = bytes
            self.raw2raw = raw2raw
            self.raw2master = raw2master
        }

        /// A product (`ADP.…`) lives in `ivoa.ObsCore`; everything else in `dbo.raw`.
        public var isProduct: Bool { dpID.hasPrefix("ADP.") }
    }

    /// One file named in an association tree: its calSelector category and dp_id.
    public struct AssociatedFile: Sendable, Hashable {
        public var category: String
        public var name: String

        public init(category: String, name: String) {
            self.category = category
            self.name = name
        }
    }

    /// A calSelector association (the XML's `<association>`): its flags, its main files and
    /// the associations it needs, nested as deep as the calibration cascade goes.
    public struct Association: Sendable, Hashable {
        public var category: String
        public var certified: Bool
        public var complete: Bool
        /// The executed mode (top association only): Raw2Raw or Raw2Master.
        public var mode: String?
        /// How a nested association was matched (`calib_plan`, `N/A`).
        public var match: String?
        public var type: String
        public var files: [AssociatedFile]
        public var messages: [String]
        public var associations: [Association]
        /// The XML served for this tree, byte for byte (a recorded answer); nil renders it.
        public var recorded: Data?

        public init(category: String, certified: Bool = true, complete: Bool = true, mode: String? = nil, match: String? = nil, type: String = "main",
                    files: [AssociatedFile], messages: [String] = [], associations: [Association] = [], recorded: Data? = nil) {
            self.category = category
            self.certified = certified
            self.complete = complete
            self.mode = mode
            self.match = match
            self.type = type
            self.files = files
            self.messages = messages
            self.associations = associations
            self.recorded = recorded
        }

        /// Every file named anywhere in the tree, once each, in the order first named.
        public var allFiles: [AssociatedFile] {
            var seen = Set<String>(), result: [AssociatedFile] = []
            func walk(_ association: Association) {
                for file in association.files where seen.insert(file.name).inserted { result.append(file) }
                association.associations.forEach(walk)
            }
            walk(self)
            return result
        }

        /// The XML calSelector answers without `responseformat` (the recorded bytes if any).
        public var xml: Data {
            if let recorded { return recorded }
            var lines = [#"<?xml version="1.0" encoding="UTF-8"?>"#]
            render(into: &lines, indent: "")
            return Data((lines.joined(separator: "\n") + "\n").utf8)
        }

        private func render(into lines: inout [String], indent: String) {
            var attributes = [("category", category), ("certified", String(certified)), ("complete", String(complete))]
            if let match { attributes.append(("match", match)) }
            if let mode { attributes.append(("mode", mode)) }
            attributes.append(("type", type))
            lines.append("\(indent)<association \(attributes.map { "\($0.0)=\"\(FakeESO.xmlEscape($0.1))\"" }.joined(separator: " "))>")
            let inner = indent + "    "
            lines.append("\(inner)<mainFiles>")
            for file in files {
                lines.append("\(inner)    <file category=\"\(FakeESO.xmlEscape(file.category))\" name=\"\(FakeESO.xmlEscape(file.name))\"/>")
            }
            lines.append("\(inner)</mainFiles>")
            if messages.isEmpty {
                lines.append("\(inner)<messages/>")
            } else {
                lines.append("\(inner)<messages>")
                for message in messages { lines.append("\(inner)    <message>\(FakeESO.xmlEscape(message))</message>") }
                lines.append("\(inner)</messages>")
            }
            if associations.isEmpty {
                lines.append("\(inner)<associatedFiles/>")
            } else {
                lines.append("\(inner)<associatedFiles>")
                for association in associations { association.render(into: &lines, indent: inner + "    ") }
                lines.append("\(inner)</associatedFiles>")
            }
            lines.append("\(indent)</association>")
        }

        /// The tree of a recorded calSelector XML answer, which is kept as its `recorded` bytes.
        public static func parse(_ xml: Data) throws -> Association {
            let reader = AssociationReader()
            let parser = XMLParser(data: xml)
            parser.delegate = reader
            guard parser.parse(), var root = reader.root else { throw FakeESOError.unreadableTree(parser.parserError.map { "\($0)" } ?? "no association element") }
            root.recorded = xml
            return root
        }
    }

    /// The name the data portal gives a dp_id's file: raw frames are served Unix-compressed
    /// (`<dp_id>.fits.Z`), masters (`M.…`) and products (`ADP.…`) as plain `.fits`.
    public static func servedName(of dpID: String) -> String {
        dpID.hasPrefix("M.") || dpID.hasPrefix("ADP.") ? "\(dpID).fits" : "\(dpID).fits.Z"
    }

    // MARK: The fixtures' frame

    /// The FORS2 science frame of the fixtures.
    public static let fors2Frame = "FORS2.2021-01-02T00:59:12.533"
    /// The second frame of the fixtures' multipart calSelector answer (a copy of the first with
    /// every dp_id moved by a millisecond).
    public static let fors2Twin = "FORS2.2021-01-02T00:59:12.534"

    /// A recorded answer under Tests/TestSupport/Fixtures/eso.
    public static func fixture(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: "Fixtures/eso/\(name)", withExtension: nil) else { throw FakeESOError.missingFixture(name) }
        return try Data(contentsOf: url)
    }

    /// The fixtures' two FORS2 frames with their recorded Raw2Raw trees (51 and 51 names; 99
    /// besides the two inputs together) and no Raw2Master tree, so Raw2Master falls back.
    public static func fors2Frames() throws -> [Frame] {
        let single = try Association.parse(fixture("FORS2.2021-01-02T00_59_12.533_raw2raw.xml"))
        let multipart = try fixture("FORS2.2021-01-02T00_59_12.533_raw2raw_multipart.xml")
        guard let first = Self.multipartBodies(multipart).first else { throw FakeESOError.missingFixture("the multipart answer's first part") }
        let twin = try Association.parse(first)
        return [
            Frame(fors2Frame, origfile: "FORS2_IMG_SCI002_0001.fits", raw2raw: single),
            Frame(fors2Twin, origfile: "FORS2_IMG_SCI002_0002.fits", raw2raw: twin),
        ]
    }

    /// The bodies of a multipart calSelector answer, in the order they come.
    static func multipartBodies(_ data: Data) -> [Data] {
        let text = String(decoding: data, as: UTF8.self)
        var bodies: [Data] = []
        for part in text.components(separatedBy: "--\(multipartBoundary)").dropFirst() where !part.hasPrefix("--") {
            guard let blank = part.range(of: "\n\n") else { continue }
            let headers = part[..<blank.lowerBound]
            let length = headers.split(separator: "\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
            let body = Data(part[blank.upperBound...].utf8)
            bodies.append(length.map { body.prefix($0) } ?? body)
        }
        return bodies
    }

    /// `count` FORS2-like science frames one second apart, each with a Raw2Raw tree of five sky
    /// flats shared by each ten frames, ten biases shared by each fifty, and one standard star
    /// of its own (with a master photometric table shared by all): for benchmarks of many dp_ids
    /// whose calibrations overlap.
    public static func syntheticFrames(count: Int) -> [Frame] {
        (0..<count).map { index in
            let dpID = String(format: "FORS2.2021-02-%02dT%02d:%02d:%02d.000", 1 + index / 86400, index / 3600 % 24, index / 60 % 60, index % 60)
            let flats = (0..<5).map { AssociatedFile(category: "SKY_FLAT_IMG", name: String(format: "FORS2.2021-01-%02dT00:%02d:%02d.100", 1 + index / 10 % 28, index / 10 / 28 % 60, $0)) }
            let biases = (0..<10).map { AssociatedFile(category: "BIAS", name: String(format: "FORS2.2021-01-%02dT09:%02d:%02d.200", 1 + index / 50 % 28, index / 50 / 28 % 60, $0)) }
            let standard = AssociatedFile(category: "STANDARD_IMG", name: String(format: "FORS2.2020-12-%02dT%02d:%02d:%02d.300", 1 + index / 86400, index / 3600 % 24, index / 60 % 60, index % 60))
            let bias = Association(category: "BIAS", match: "calib_plan", files: biases)
            let flat = Association(category: "FLAT_SKY", match: "calib_plan", files: flats, associations: [bias])
            let photometry = Association(category: "PHOT_TABLE", match: "N/A", files: [AssociatedFile(category: "PHOT_TABLE", name: "M.FORS2.2020-12-16T08:22:29.053")])
            let std = Association(category: "STD_IMA", match: "calib_plan", files: [standard], associations: [photometry, flat, bias])
            let tree = Association(category: "SCI_IMG_2x2_low", mode: "Raw2Raw", files: [AssociatedFile(category: "SCIENCE_IMG", name: dpID)], associations: [flat, std, bias])
            return Frame(dpID, raw2raw: tree)
        }
    }

    // MARK: Generated files

    /// The bytes served for a dp_id without recorded bytes: a FITS file (a header naming the
    /// frame, one to three 2880-byte blocks of data) that is Unix-compressed (`compress`, LZW)
    /// when its name ends in `.Z`. `variant` changes the header's DATE and CHECKSUM cards only,
    /// keeping every size, as ESO's header-on-the-fly corrections do.
    public static func fileBytes(dpID: String, filename: String, variant: Int = 0) -> Data {
        let fits = fitsBytes(dpID: dpID, variant: variant)
        return filename.hasSuffix(".Z") ? UnixCompress.compress(fits) : fits
    }

    /// The size of `fileBytes(dpID:filename:)` for any variant, without building it.
    public static func fileSize(dpID: String, filename: String) -> Int {
        let length = fitsLength(dpID: dpID)
        return filename.hasSuffix(".Z") ? UnixCompress.compressedSize(ofLength: length) : length
    }

    private static func seed(_ text: String) -> UInt32 {
        text.utf8.reduce(UInt32(2166136261)) { ($0 ^ UInt32($1)) &* 16777619 }
    }

    private static func fitsLength(dpID: String) -> Int { 2880 * (2 + Int(seed(dpID) % 3)) }

    private static func fitsBytes(dpID: String, variant: Int) -> Data {
        let dataLength = fitsLength(dpID: dpID) - 2880
        func card(_ key: String, _ value: String, _ comment: String = "") -> String {
            var text = key.padding(toLength: 8, withPad: " ", startingAt: 0) + "= " + value.leftPadded(to: 20)
            if !comment.isEmpty { text += " / " + comment }
            return String(text.prefix(80)).padding(toLength: 80, withPad: " ", startingAt: 0)
        }
        let checksum = String(format: "%08X%08X", seed("\(dpID)#\(variant)"), seed("\(variant)#\(dpID)"))
        let cards = [
            card("SIMPLE", "T", "Standard FITS format"),
            card("BITPIX", "8", "Bits per pixel"),
            card("NAXIS", "1", "Number of dimensions"),
            card("NAXIS1", String(dataLength), "Bytes of data"),
            card("ORIGIN", "'ESO-PARANAL'", "European Southern Observatory"),
            card("DATE", String(format: "'2021-01-02T12:00:%02d.%03d'", variant / 1000 % 60, variant % 1000), "Header written (on the fly)"),
            card("ARCFILE", "'\(dpID).fits'", "Archive file name"),
            card("CHECKSUM", "'\(checksum)'", "HDU checksum"),
            card("DATASUM", "'\(seed(dpID))'", "data unit checksum"),
            "END".padding(toLength: 80, withPad: " ", startingAt: 0),
        ]
        var header = Data(cards.joined().utf8)
        header.append(Data(repeating: 0x20, count: 2880 - header.count))
        let start = seed(dpID)
        header.append(Data((0..<dataLength).map { UInt8(truncatingIfNeeded: (UInt32($0) &* 2654435761 &+ start) >> 13) }))
        return header
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width || hasPrefix("'") ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Why the fake ESO could not be set up.
public enum FakeESOError: Error, Sendable {
    case missingFixture(String)
    case unreadableTree(String)

    /// One plain sentence.
    public var message: String {
        switch self {
        case .missingFixture(let name): return "the fixture \(name) is not among TestSupport's resources"
        case .unreadableTree(let reason): return "the association tree is not readable XML: \(reason)"
        }
    }
}

/// Unix `compress` (LZW, 16 bits, block mode) writing every byte as a literal code: a valid
/// `.Z` stream that `uncompress` and `gzip -d` read, whose size depends only on the input's length.
public enum UnixCompress {
    /// `data` as a `.Z` stream.
    public static func compress(_ data: Data) -> Data {
        var output = Data([0x1f, 0x9d, 0x90])
        var writer = BitWriter()
        forEachCode(count: data.count) { index, width, pad in
            if pad { writer.align(groupBits: (width - 1) * 8) }
            writer.write(UInt32(data[data.startIndex + index]), bits: width)
        }
        output.append(writer.finish())
        return output
    }

    /// The size of `compress(data)` for a `data` of `length` bytes.
    public static func compressedSize(ofLength length: Int) -> Int {
        var bits = 0, groupStart = 0
        forEachCode(count: length) { _, width, pad in
            if pad {
                let group = (width - 1) * 8
                bits = groupStart + (bits - groupStart + group - 1) / group * group
                groupStart = bits
            }
            bits += width
        }
        return 3 + (bits + 7) / 8
    }

    /// Calls `body(index, width, widenedBeforeThis)` for each code, widening codes when the
    /// decoder's next free entry passes the widest code of the current width (its rule).
    private static func forEachCode(count: Int, _ body: (Int, Int, Bool) -> Void) {
        var width = 9, maxCode = 511
        for index in 0..<count {
            let freeEntry = min(257 + max(0, index - 1), 65536)
            var widened = false
            if freeEntry > maxCode {
                width += 1
                maxCode = width == 16 ? 65536 : (1 << width) - 1
                widened = true
            }
            body(index, width, widened)
        }
    }

    /// Packs codes least significant bit first, in groups that start where the width last changed.
    private struct BitWriter {
        var bytes = Data()
        var accumulator: UInt64 = 0
        var pending = 0
        var written = 0
        var groupStart = 0

        mutating func write(_ value: UInt32, bits: Int) {
            accumulator |= UInt64(value) << UInt64(pending)
            pending += bits
            written += bits
            while pending >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                pending -= 8
            }
        }

        mutating func align(groupBits: Int) {
            let used = written - groupStart
            let padding = (groupBits - used % groupBits) % groupBits
            var left = padding
            while left > 0 {
                let step = min(left, 16)
                write(0, bits: step)
                left -= step
            }
            groupStart = written
        }

        mutating func finish() -> Data {
            if pending > 0 { bytes.append(UInt8(truncatingIfNeeded: accumulator)) }
            return bytes
        }
    }
}

/// Reads `<association>` elements into `FakeESO.Association` values.
private final class AssociationReader: NSObject, XMLParserDelegate {
    private var stack: [FakeESO.Association] = []
    private var message: String?
    var root: FakeESO.Association?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch elementName {
        case "association":
            stack.append(FakeESO.Association(category: attributes["category"] ?? "", certified: attributes["certified"] == "true",
                                             complete: attributes["complete"] == "true", mode: attributes["mode"], match: attributes["match"],
                                             type: attributes["type"] ?? "main", files: []))
        case "file":
            stack[stack.count - 1].files.append(FakeESO.AssociatedFile(category: attributes["category"] ?? "", name: attributes["name"] ?? ""))
        case "message":
            message = ""
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        message? += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        switch elementName {
        case "message":
            if let message { stack[stack.count - 1].messages.append(message) }
            message = nil
        case "association":
            let done = stack.removeLast()
            if stack.isEmpty { root = done } else { stack[stack.count - 1].associations.append(done) }
        default:
            break
        }
    }
}
