import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension VOTableDocument {
    /// Reads a VOTable (versions 1.1 to 1.5, or no namespace): RESOURCE, TABLE, FIELD, PARAM,
    /// GROUP, INFO, and TABLEDATA, BINARY or BINARY2 data (a base64 STREAM).
    ///
    /// Streaming: the XML goes through Foundation's event parser (libxml2's SAX), which keeps no
    /// tree. libxml2 holds a text run whole and refuses one past 10 MB, so the base64 text of
    /// every STREAM is cut out of the document before it is parsed and decoded from `data`
    /// directly, 64 KiB at a time, row by row: what stays in memory is `data`, the typed cells,
    /// and the document without its streams.
    public static func parse(_ data: Data) throws(VOTableError) -> VOTableDocument {
        let cut = StreamCutter.cut(data)
        let builder = VOTableBuilder(source: data, streams: cut.streams)
        let parser = XMLParser(data: cut.xml)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        _ = parser.parse()
        return try withExtendedLifetime(builder) { () throws(VOTableError) -> VOTableDocument in try builder.document() }
    }
}

/// Finds the text of every STREAM element (whatever its namespace prefix) without parsing the
/// XML: comments, CDATA sections, processing instructions, the DOCTYPE and quoted attribute
/// values are skipped, and a STREAM's text ends at its first `<` (base64 has none).
enum StreamCutter {
    /// The document without the STREAM texts, and where each text was in the original, one
    /// range per STREAM element in document order (empty for `<STREAM/>`).
    static func cut(_ data: Data) -> (xml: Data, streams: [Range<Int>]) {
        let streams: [Range<Int>] = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let bytes = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), containsStream(raw) else { return [] }
            return streamRanges(bytes, raw.count)
        }
        guard streams.contains(where: { !$0.isEmpty }) else { return (data, streams) }
        var xml = Data()
        var start = 0
        for range in streams where !range.isEmpty {
            xml.append(data[data.startIndex + start..<data.startIndex + range.lowerBound])
            start = range.upperBound
        }
        xml.append(data[(data.startIndex + start)...])
        return (xml, streams)
    }

    /// Whether the bytes contain `STREAM` at all (most answers are TABLEDATA).
    private static func containsStream(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard let base = raw.baseAddress else { return false }
        let needle = Array("STREAM".utf8)
        var start = 0
        while start + needle.count <= raw.count, let found = memchr(base + start, Int32(needle[0]), raw.count - start - needle.count + 1) {
            let index = base.distance(to: UnsafeRawPointer(found))
            if needle.indices.allSatisfy({ raw[index + $0] == needle[$0] }) { return true }
            start = index + 1
        }
        return false
    }

    private static func streamRanges(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> [Range<Int>] {
        func find(_ byte: UInt8, from start: Int) -> Int? {
            guard start < count, let found = memchr(bytes + start, Int32(byte), count - start) else { return nil }
            return bytes.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
        func matches(_ text: String, at index: Int) -> Bool {
            let pattern = Array(text.utf8)
            guard index + pattern.count <= count else { return false }
            return pattern.indices.allSatisfy { bytes[index + $0] == pattern[$0] }
        }
        func after(_ terminator: String, from start: Int) -> Int {
            var index = start
            while let candidate = find(terminator.utf8.first!, from: index) {
                if matches(terminator, at: candidate) { return candidate + terminator.utf8.count }
                index = candidate + 1
            }
            return count
        }
        let stream = Array("STREAM".utf8)
        var ranges: [Range<Int>] = []
        var index = 0
        while let open = find(UInt8(ascii: "<"), from: index) {
            if matches("<!--", at: open) {
                index = after("-->", from: open + 4)
            } else if matches("<![CDATA[", at: open) {
                index = after("]]>", from: open + 9)
            } else if matches("<?", at: open) {
                index = after("?>", from: open + 2)
            } else if matches("<!", at: open) {
                index = endOfDeclaration(bytes, count, from: open + 2)
            } else if matches("</", at: open) {
                index = open + 2
            } else {
                var nameEnd = open + 1
                var localStart = nameEnd
                while nameEnd < count, !isNameEnd(bytes[nameEnd]) {
                    if bytes[nameEnd] == UInt8(ascii: ":") { localStart = nameEnd + 1 }
                    nameEnd += 1
                }
                var tagEnd = nameEnd
                var quote: UInt8?
                while tagEnd < count {
                    let byte = bytes[tagEnd]
                    if let open = quote {
                        if byte == open { quote = nil }
                    } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                        quote = byte
                    } else if byte == UInt8(ascii: ">") {
                        break
                    }
                    tagEnd += 1
                }
                guard tagEnd < count else { break }
                index = tagEnd + 1
                let isStream = nameEnd - localStart == stream.count && stream.indices.allSatisfy { bytes[localStart + $0] == stream[$0] }
                guard isStream else { continue }
                if bytes[tagEnd - 1] == UInt8(ascii: "/") {
                    ranges.append(index..<index)
                } else {
                    let textEnd = find(UInt8(ascii: "<"), from: index) ?? count
                    ranges.append(index..<textEnd)
                    index = textEnd
                }
            }
        }
        return ranges
    }

    private static func isNameEnd(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Past the `>` that ends a `<!DOCTYPE …>` declaration, whose internal subset (`[…]`) may hold `>`.
    private static func endOfDeclaration(_ bytes: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int {
        var depth = 0
        var quote: UInt8?
        var index = start
        while index < count {
            let byte = bytes[index]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "]") {
                depth -= 1
            } else if byte == UInt8(ascii: ">"), depth <= 0 {
                return index + 1
            }
            index += 1
        }
        return count
    }
}

/// The parser's delegate: builds the document as the events arrive, keeping only the open
/// elements and the cells read so far.
private final class VOTableBuilder: NSObject, XMLParserDelegate {
    private final class ResourceFrame { var resource = VOResource() }
    private final class GroupFrame { var group = VOGroup() }
    private final class FieldFrame {
        var field: VOField
        let isParam: Bool
        var valueText: String
        init(field: VOField, isParam: Bool, valueText: String) {
            self.field = field
            self.isParam = isParam
            self.valueText = valueText
        }
    }
    private final class InfoFrame {
        var info: VOInfo
        init(_ info: VOInfo) { self.info = info }
    }
    private final class TableFrame {
        var name: String?
        var id: String?
        var fields: [VOField] = []
        var params: [VOParam] = []
        var groups: [VOGroup] = []
        var infos: [VOInfo] = []
        var cells: [VOValue] = []
        var decoders: [VOCellDecoder] = []
        var rows = 0
        var cellsInRow = 0
        var cellText = ""
        var hasNullFlags = false
        var binary: VOBinaryRowReader?
    }

    private enum Frame {
        case resource(ResourceFrame)
        case table(TableFrame)
        case group(GroupFrame)
        case field(FieldFrame)
        case info(InfoFrame)
        case row
        case cell
        case stream
        case other
    }

    private let source: Data
    private let streams: [Range<Int>]
    private var streamIndex = 0
    private var frames: [Frame] = []
    private var failure: VOTableError?
    private var sawRoot = false
    private var closedRoot = false
    private var namespace = ""
    private var version: String?
    private var infoCount = 0
    private var infos: [VOInfo] = []
    private var params: [VOParam] = []
    private var groups: [VOGroup] = []
    private var resources: [VOResource] = []

    init(source: Data, streams: [Range<Int>]) {
        self.source = source
        self.streams = streams
    }

    func document() throws(VOTableError) -> VOTableDocument {
        if case .notXML? = failure, readsVOTable, !closedRoot, !endsWithVOTableTag { throw .truncated }
        if let failure { throw failure }
        guard sawRoot else { throw .notVOTable(root: nil) }
        guard closedRoot else { throw .truncated }
        return VOTableDocument(version: version, namespace: namespace, infos: infos, params: params, groups: groups, resources: resources)
    }

    /// True once the root element was read as a VOTABLE.
    private var readsVOTable: Bool { !frames.isEmpty || closedRoot }

    /// Whether the document's last tag (before trailing whitespace) ends in `VOTABLE>`: an XML
    /// error in a document that does not is a cut-off answer.
    private var endsWithVOTableTag: Bool {
        let tail = source.suffix(64).reversed().drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        return tail.starts(with: Array("VOTABLE>".utf8).reversed())
    }

    private func fail(_ error: VOTableError, _ parser: XMLParser) {
        guard failure == nil else { return }
        failure = error
        parser.abortParsing()
    }

    private var currentTable: TableFrame? {
        for frame in frames.reversed() {
            if case .table(let table) = frame { return table }
        }
        return nil
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        fail(.notXML(line: parser.lineNumber, code: (parseError as NSError).code), parser)
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?, attributes: [String: String]) {
        guard failure == nil else { return }
        let elementNamespace = namespaceURI ?? ""
        if !sawRoot {
            sawRoot = true
            guard elementName == "VOTABLE" else { return fail(.notVOTable(root: qName ?? elementName), parser) }
            guard elementNamespace.isEmpty || elementNamespace.hasPrefix("http://www.ivoa.net/xml/VOTable/v1.") else {
                return fail(.unknownNamespace(elementNamespace), parser)
            }
            namespace = elementNamespace
            version = attributes["version"]
            frames.append(.other)
            return
        }
        if elementName == "STREAM" {
            startStream(attributes, parser)
            return
        }
        guard elementNamespace.isEmpty || elementNamespace == namespace else {
            frames.append(.other)
            return
        }
        switch elementName {
        case "RESOURCE":
            let frame = ResourceFrame()
            frame.resource.name = attributes["name"]
            frame.resource.id = attributes["ID"]
            frame.resource.type = attributes["type"]
            frame.resource.utype = attributes["utype"]
            frames.append(.resource(frame))
        case "TABLE":
            let frame = TableFrame()
            frame.name = attributes["name"]
            frame.id = attributes["ID"]
            frames.append(.table(frame))
        case "GROUP":
            let frame = GroupFrame()
            frame.group.name = attributes["name"]
            frame.group.id = attributes["ID"]
            frame.group.utype = attributes["utype"]
            frames.append(.group(frame))
        case "FIELD", "PARAM":
            let name = attributes["name"] ?? attributes["ID"] ?? ""
            let datatypeText = attributes["datatype"] ?? ""
            guard let datatype = VODatatype(rawValue: datatypeText) else { return fail(.unknownDatatype(field: name, datatype: datatypeText), parser) }
            guard let arraysize = VOArraySize(attributes["arraysize"]) else { return fail(.badArraysize(field: name, arraysize: attributes["arraysize"] ?? ""), parser) }
            let field = VOField(name: name, id: attributes["ID"], datatype: datatype, arraysize: arraysize, unit: attributes["unit"], ucd: attributes["ucd"],
                                utype: attributes["utype"], xtype: attributes["xtype"])
            frames.append(.field(FieldFrame(field: field, isParam: elementName == "PARAM", valueText: attributes["value"] ?? "")))
        case "VALUES":
            if case .field(let frame)? = frames.last, let null = attributes["null"] { frame.field.nullLiteral = null }
            frames.append(.other)
        case "INFO":
            frames.append(.info(InfoFrame(VOInfo(name: attributes["name"] ?? "", id: attributes["ID"], value: attributes["value"], content: "", position: infoCount))))
            infoCount += 1
        case "DATA":
            if let table = currentTable { table.decoders = table.fields.map(VOCellDecoder.init) }
            frames.append(.other)
        case "BINARY", "BINARY2":
            currentTable?.hasNullFlags = elementName == "BINARY2"
            frames.append(.other)
        case "FITS":
            fail(.unsupportedSerialization("FITS"), parser)
        case "TR":
            currentTable?.cellsInRow = 0
            frames.append(.row)
        case "TD":
            currentTable?.cellText = ""
            frames.append(.cell)
        default:
            frames.append(.other)
        }
    }

    private func startStream(_ attributes: [String: String], _ parser: XMLParser) {
        frames.append(.stream)
        guard streamIndex < streams.count else { return fail(.badStream("the document has more STREAM elements than datapin found"), parser) }
        let range = streams[streamIndex]
        streamIndex += 1
        guard let table = currentTable else { return }
        if let href = attributes["href"] { return fail(.unsupportedSerialization("a remote stream (\(href))"), parser) }
        if let encoding = attributes["encoding"], encoding.lowercased() != "base64" { return fail(.unsupportedSerialization("a stream encoded '\(encoding)'"), parser) }
        var reader = VOBinaryRowReader(decoders: table.fields.map(VOCellDecoder.init), hasNullFlags: table.hasNullFlags)
        let chunk = 64 << 10
        let failure: VOTableError? = source.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> VOTableError? in
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(range.upperBound, start + chunk)
                do throws(VOTableError) {
                    try reader.take(base64: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                } catch {
                    return error
                }
                start = end
            }
            return nil
        }
        if let failure { return fail(failure, parser) }
        table.binary = reader
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard failure == nil, let frame = frames.last else { return }
        switch frame {
        case .cell: currentTable?.cellText += string
        case .info(let info): info.info.content += string
        case .stream: takeStreamText(Data(string.utf8), parser)
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard failure == nil, let frame = frames.last else { return }
        switch frame {
        case .cell: currentTable?.cellText += String(decoding: CDATABlock, as: UTF8.self)
        case .info(let info): info.info.content += String(decoding: CDATABlock, as: UTF8.self)
        case .stream: takeStreamText(CDATABlock, parser)
        default: break
        }
    }

    /// Text the XML parser itself delivers inside a STREAM (whitespace, a CDATA section).
    private func takeStreamText(_ text: Data, _ parser: XMLParser) {
        guard let table = currentTable, var reader = table.binary else { return }
        let failure: VOTableError? = text.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> VOTableError? in
            do throws(VOTableError) {
                try reader.take(base64: bytes)
                return nil
            } catch {
                return error
            }
        }
        if let failure { return fail(failure, parser) }
        table.binary = reader
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard failure == nil, let frame = frames.popLast() else { return }
        switch frame {
        case .resource(let resource):
            attach(resource: resource.resource)
        case .table(let table):
            attach(table: table)
        case .group(let group):
            attach(group: group.group)
        case .field(let field):
            attach(field: field, parser)
        case .info(let info):
            var finished = info.info
            finished.content = finished.content.trimmingCharacters(in: .whitespacesAndNewlines)
            attach(info: finished)
        case .cell:
            endCell(parser)
        case .row:
            guard let table = currentTable else { return }
            guard table.cellsInRow == table.fields.count else { return fail(.rowWidth(row: table.rows, cells: table.cellsInRow, fields: table.fields.count), parser) }
            table.rows += 1
        case .stream:
            guard let table = currentTable, var reader = table.binary else { return }
            do throws(VOTableError) {
                try reader.finish()
            } catch {
                return fail(error, parser)
            }
            table.cells = reader.cells
            table.rows = reader.rowCount
            table.binary = nil
        case .other:
            if frames.isEmpty { closedRoot = true }
        }
    }

    private func endCell(_ parser: XMLParser) {
        guard let table = currentTable else { return }
        let column = table.cellsInRow
        guard column < table.decoders.count else { return fail(.rowWidth(row: table.rows, cells: column + 1, fields: table.fields.count), parser) }
        let decoder = table.decoders[column]
        guard let value = decoder.decode(text: table.cellText) else {
            return fail(.badCell(row: table.rows, field: decoder.field.name, text: table.cellText, datatype: decoder.field.datatype), parser)
        }
        table.cells.append(value)
        table.cellsInRow += 1
    }

    private func attach(resource: VOResource) {
        if case .resource(let parent)? = frames.last {
            parent.resource.resources.append(resource)
        } else {
            resources.append(resource)
        }
    }

    private func attach(table frame: TableFrame) {
        let table = VOTable(name: frame.name, id: frame.id, fields: frame.fields, params: frame.params, groups: frame.groups, infos: frame.infos, cells: frame.cells)
        if case .resource(let parent)? = frames.last { parent.resource.tables.append(table) }
    }

    private func attach(group: VOGroup) {
        switch frames.last {
        case .group(let parent)?: parent.group.groups.append(group)
        case .table(let table)?: table.groups.append(group)
        case .resource(let parent)?: parent.resource.groups.append(group)
        default: groups.append(group)
        }
    }

    private func attach(field frame: FieldFrame, _ parser: XMLParser) {
        guard frame.isParam else {
            if case .table(let table)? = frames.last { table.fields.append(frame.field) }
            return
        }
        let value = VOCellDecoder(frame.field).decode(text: frame.valueText) ?? .string(frame.valueText)
        let param = VOParam(field: frame.field, text: frame.valueText, value: value)
        switch frames.last {
        case .group(let parent)?: parent.group.params.append(param)
        case .table(let table)?: table.params.append(param)
        case .resource(let parent)?: parent.resource.params.append(param)
        default: params.append(param)
        }
    }

    private func attach(info: VOInfo) {
        switch frames.last {
        case .table(let table)?: table.infos.append(info)
        case .resource(let parent)?: parent.resource.infos.append(info)
        default: infos.append(info)
        }
    }
}
