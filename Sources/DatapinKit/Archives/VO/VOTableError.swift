import Foundation

/// Why a VOTable (or a UWS job document) could not be read.
public enum VOTableError: Error, Sendable, Hashable {
    /// The bytes are not well-formed XML.
    case notXML(line: Int, code: Int)
    /// The document is XML but not a VOTable; `root` is its root element, nil when it has none.
    case notVOTable(root: String?)
    /// The VOTABLE element is in a namespace no VOTable version uses.
    case unknownNamespace(String)
    /// The document ends before its VOTABLE element is closed.
    case truncated
    /// A FIELD or PARAM names a datatype VOTable does not define.
    case unknownDatatype(field: String, datatype: String)
    /// A FIELD or PARAM has an `arraysize` VOTable does not define.
    case badArraysize(field: String, arraysize: String)
    /// A cell's text cannot be read as its FIELD's datatype.
    case badCell(row: Int, field: String, text: String, datatype: VODatatype)
    /// A TABLEDATA row has more or fewer cells than the table has FIELDs.
    case rowWidth(row: Int, cells: Int, fields: Int)
    /// The table's data uses something this reader does not read (FITS, a remote STREAM, an
    /// encoding other than base64).
    case unsupportedSerialization(String)
    /// A BINARY or BINARY2 stream is not valid base64, or ends inside a row.
    case badStream(String)
    /// A FIELD that should hold a size has a unit that is not one.
    case notASizeUnit(field: String, unit: String)
    /// A column the caller needs is missing.
    case missingColumn(String)
    /// A UWS job document lacks what every job has.
    case badJob(String)

    /// One plain sentence.
    public var message: String {
        switch self {
        case .notXML(let line, let code): return "it is not well-formed XML (the XML parser stopped with error \(code) at line \(line))"
        case .notVOTable(let root?): return "it is not a VOTable: its root element is <\(root)>"
        case .notVOTable(nil): return "it is not a VOTable: it has no XML element at all"
        case .unknownNamespace(let namespace): return "its VOTABLE element is in the namespace '\(namespace)', which is no VOTable version's"
        case .truncated: return "the VOTable ends before its VOTABLE element is closed (a truncated answer?)"
        case .unknownDatatype(let field, let datatype): return "the field '\(field)' has datatype '\(datatype)', which VOTable does not define"
        case .badArraysize(let field, let arraysize): return "the field '\(field)' has arraysize '\(arraysize)', which VOTable does not define"
        case .badCell(let row, let field, let text, let datatype): return "row \(row + 1) of the table has '\(text)' in the field '\(field)', which is not a \(datatype.rawValue)"
        case .rowWidth(let row, let cells, let fields): return "row \(row + 1) of the table has \(cells) cells but the table has \(fields) fields"
        case .unsupportedSerialization(let what): return "the table's data is \(what), which datapin does not read"
        case .badStream(let reason): return "the table's binary stream is unreadable: \(reason)"
        case .notASizeUnit(let field, let unit): return "the field '\(field)' has unit '\(unit)', which is not a size in bytes"
        case .missingColumn(let name): return "the table has no column '\(name)'"
        case .badJob(let reason): return "it is not a UWS job: \(reason)"
        }
    }
}
