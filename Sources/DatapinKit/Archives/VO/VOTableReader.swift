import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension VOTableDocument {
    /// Reads a VOTable (versions 1.1 to 1.5, or no namespace): RESOURCE, TABLE, FIELD, PARAM,
    /// GROUP, INFO, and TABLEDATA, BINARY or BINARY2 data (a base64 STREAM).
    ///
    /// Streaming: Foundation's event parser (libxml2's SAX, which keeps no tree) reads `data`
    /// 128 KiB at a time through a stream that does not copy it (given the whole `Data` at
    /// once, libxml2 refuses an answer past 10 MB; `InputStream(data:)` copies it), cells are
    /// typed as they arrive, and a STREAM's base64 text is decoded piece by piece into rows.
    /// What stays in memory is `data` and the typed cells.
    public static func parse(_ data: Data) throws(VOTableError) -> VOTableDocument {
        let builder = VOTableBuilder(source: data)
        let parser = XMLParser(stream: DataInputStream(data))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        _ = parser.parse()
        return try withExtendedLifetime(builder) { () throws(VOTableError) -> VOTableDocument in try builder.document() }
    }
}

/// An `InputStream` over `Data` that reads it in place.
private final class DataInputStream: InputStream {
    private let data: Data
    private var offset = 0
    private var status: Stream.Status = .notOpen

    init(_ data: Data) {
        self.data = data
        super.init(data: Data())
    }

    override func open() { status = .open }
    override func close() { status = .closed }
    override var streamStatus: Stream.Status { status }
    override var hasBytesAvailable: Bool { offset < data.count }

    override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength length: Int) -> Int {
        let count = min(length, data.count - offset)
        guard count > 0 else {
            status = .atEnd
            return 0
        }
        let start = data.startIndex + offset
        data.copyBytes(to: buffer, from: start..<(start + count))
        offset += count
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
        var cells = VOCellStore()
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

    init(source: Data) {
        self.source = source
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
        guard let table = currentTable else { return }
        if let href = attributes["href"] { return fail(.unsupportedSerialization("a remote stream (\(href))"), parser) }
        if let encoding = attributes["encoding"], encoding.lowercased() != "base64" { return fail(.unsupportedSerialization("a stream encoded '\(encoding)'"), parser) }
        table.binary = VOBinaryRowReader(decoders: table.fields.map(VOCellDecoder.init), hasNullFlags: table.hasNullFlags)
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

    /// A piece of a STREAM's base64 text.
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
        let table = VOTable(name: frame.name, id: frame.id, fields: frame.fields, params: frame.params, groups: frame.groups, infos: frame.infos, store: frame.cells)
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
