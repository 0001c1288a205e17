import Foundation

/// A VOTable primitive type (the FIELD and PARAM `datatype` attribute).
public enum VODatatype: String, Sendable, Hashable, CaseIterable {
    case boolean, bit, unsignedByte, short, int, long, char, unicodeChar, float, double, floatComplex, doubleComplex

    /// Bytes one element takes in the BINARY serialisations (a `bit` array packs 8 per byte).
    var elementBytes: Int {
        switch self {
        case .boolean, .bit, .unsignedByte, .char: return 1
        case .short, .unicodeChar: return 2
        case .int, .float: return 4
        case .long, .double, .floatComplex: return 8
        case .doubleComplex: return 16
        }
    }

    /// True for the character types, whose array is one string.
    var isCharacter: Bool { self == .char || self == .unicodeChar }

    /// True for the integer types, which a `VALUES null` literal applies to.
    var isInteger: Bool { self == .unsignedByte || self == .short || self == .int || self == .long }
}

/// The `arraysize` attribute: none (a scalar), fixed dimensions (`5`, `2x3`), or a variable last
/// dimension (`*`, `256*`, `3x*`).
public struct VOArraySize: Sendable, Hashable, CustomStringConvertible {
    /// The fixed dimensions; when `isVariable`, those before the variable last one.
    public let dimensions: [Int]
    /// True when the last dimension is `*` or `N*`.
    public let isVariable: Bool
    /// The N of a last dimension `N*` (an upper bound); nil for `*` or a fixed size.
    public let variableLimit: Int?

    /// No `arraysize`: one value.
    public static let scalar = VOArraySize(dimensions: [], isVariable: false, variableLimit: nil)

    init(dimensions: [Int], isVariable: Bool, variableLimit: Int?) {
        self.dimensions = dimensions
        self.isVariable = isVariable
        self.variableLimit = variableLimit
    }

    /// Reads an `arraysize` attribute; nil when the text is not one.
    public init?(_ text: String?) {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
            self = .scalar
            return
        }
        var parts = text.split(separator: "x", omittingEmptySubsequences: false).map(String.init)
        var variable = false
        var limit: Int?
        if let last = parts.last, last.hasSuffix("*") {
            variable = true
            let bound = last.dropLast()
            if !bound.isEmpty {
                guard let number = Int(bound), number > 0 else { return nil }
                limit = number
            }
            parts.removeLast()
        }
        var dimensions: [Int] = []
        for part in parts {
            guard let number = Int(part), number > 0 else { return nil }
            dimensions.append(number)
        }
        self.init(dimensions: dimensions, isVariable: variable, variableLimit: limit)
    }

    /// True when there is no `arraysize`.
    public var isScalar: Bool { dimensions.isEmpty && !isVariable }

    /// The number of elements of a fixed array (1 for a scalar); for a variable array, of one
    /// step of its last dimension.
    public var fixedCount: Int { dimensions.reduce(1, *) }

    /// The attribute as a VOTable writes it.
    public var description: String {
        var parts = dimensions.map(String.init)
        if isVariable { parts.append((variableLimit.map(String.init) ?? "") + "*") }
        return parts.joined(separator: "x")
    }
}

/// One cell, PARAM or array element, typed after its FIELD: integers of every width are
/// `integer`, `float` and `double` are `double`, a complex number or a numeric array is `array`,
/// `char` and `unicodeChar` values are `string`.
public enum VOValue: Sendable, Hashable {
    /// An empty cell, a `VALUES null` value, a NaN, a null flag of BINARY2, or an empty string.
    case null
    case boolean(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([VOValue])

    /// True for `.null`.
    public var isNull: Bool { self == .null }

    /// The text of a `string` value.
    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// An `integer`, or a `double` with no fractional part.
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        default: return nil
        }
    }

    /// A `double`, or an `integer` as a double.
    public var double: Double? {
        switch self {
        case .double(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    /// A `boolean` value.
    public var boolean: Bool? {
        if case .boolean(let value) = self { return value }
        return nil
    }
}

/// A FIELD (a column), or the description part of a PARAM.
public struct VOField: Sendable, Hashable {
    public var name: String
    public var id: String?
    public var datatype: VODatatype
    public var arraysize: VOArraySize
    public var unit: String?
    public var ucd: String?
    public var utype: String?
    public var xtype: String?
    /// The `VALUES null` literal, when the FIELD declares one.
    public var nullLiteral: String?

    public init(name: String, id: String? = nil, datatype: VODatatype, arraysize: VOArraySize = .scalar, unit: String? = nil, ucd: String? = nil, utype: String? = nil, xtype: String? = nil, nullLiteral: String? = nil) {
        self.name = name
        self.id = id
        self.datatype = datatype
        self.arraysize = arraysize
        self.unit = unit
        self.ucd = ucd
        self.utype = utype
        self.xtype = xtype
        self.nullLiteral = nullLiteral
    }
}

/// A PARAM: a FIELD with one value of its own.
public struct VOParam: Sendable, Hashable {
    public var field: VOField
    /// The `value` attribute as written.
    public var text: String
    /// `text` read after the field's datatype.
    public var value: VOValue

    /// The PARAM's `name`.
    public var name: String { field.name }
}

/// An INFO element. `value` is optional (ESO writes INFO without one).
public struct VOInfo: Sendable, Hashable {
    public var name: String
    public var id: String?
    public var value: String?
    /// The element's text, trimmed.
    public var content: String
    /// Its place among the document's INFO elements, from 0, in document order.
    public var position: Int
}

/// A GROUP of PARAMs (and nested GROUPs), such as a service descriptor's `inputParams`.
public struct VOGroup: Sendable, Hashable {
    public var name: String?
    public var id: String?
    public var utype: String?
    public var params: [VOParam] = []
    public var groups: [VOGroup] = []
}

/// A RESOURCE: the results of a query (`type="results"`), or a service descriptor
/// (`type="meta"`, `utype="adhoc:service"`).
public struct VOResource: Sendable, Hashable {
    public var name: String?
    public var id: String?
    /// The `type` attribute as written; nil when absent (which VOTable reads as `results`).
    public var type: String?
    public var utype: String?
    public var infos: [VOInfo] = []
    public var params: [VOParam] = []
    public var groups: [VOGroup] = []
    public var tables: [VOTable] = []
    public var resources: [VOResource] = []

    /// The first PARAM named `name` (compared case-insensitively), here or in a GROUP.
    public func param(named name: String) -> VOParam? {
        params.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
            ?? groups.lazy.compactMap { $0.param(named: name) }.first
    }

    /// True for a DataLink service descriptor (`type="meta"` and `utype="adhoc:service"`).
    public var isServiceDescriptor: Bool {
        type?.lowercased() == "meta" && utype?.lowercased() == "adhoc:service"
    }
}

extension VOGroup {
    /// The first PARAM named `name` (compared case-insensitively), here or in a nested GROUP.
    public func param(named name: String) -> VOParam? {
        params.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
            ?? groups.lazy.compactMap { $0.param(named: name) }.first
    }
}

/// A TABLE: its FIELDs and its rows, typed. Cells are stored row after row in one array.
public struct VOTable: Sendable, Hashable {
    public var name: String?
    public var id: String?
    public var fields: [VOField]
    public var params: [VOParam]
    public var groups: [VOGroup]
    /// INFO elements inside the TABLE (VOTable 1.3 allows them after DATA).
    public var infos: [VOInfo]
    /// The number of rows.
    public let rowCount: Int
    private let cells: VOCellStore
    /// Lowercased FIELD name → its first column.
    private let columnsByName: [String: Int]

    /// A table of `fields` whose cells are `cells`, row after row.
    public init(name: String? = nil, id: String? = nil, fields: [VOField], params: [VOParam] = [], groups: [VOGroup] = [], infos: [VOInfo] = [], cells: [VOValue]) {
        var store = VOCellStore()
        for cell in cells { store.append(cell) }
        self.init(name: name, id: id, fields: fields, params: params, groups: groups, infos: infos, store: store)
    }

    init(name: String?, id: String?, fields: [VOField], params: [VOParam], groups: [VOGroup], infos: [VOInfo], store cells: VOCellStore) {
        precondition(fields.isEmpty ? cells.count == 0 : cells.count % fields.count == 0, "cells must fill whole rows")
        self.name = name
        self.id = id
        self.fields = fields
        self.params = params
        self.groups = groups
        self.infos = infos
        self.cells = cells
        rowCount = fields.isEmpty ? 0 : cells.count / fields.count
        var byName: [String: Int] = [:]
        for (index, field) in fields.enumerated() where byName[field.name.lowercased()] == nil {
            byName[field.name.lowercased()] = index
        }
        columnsByName = byName
    }

    /// The column of the FIELD named `name`, compared case-insensitively (the first of equal names).
    public func column(named name: String) -> Int? { columnsByName[name.lowercased()] }

    /// The first column whose `utype` is `utype`, compared case-insensitively (SSA finds its
    /// columns so).
    public func column(utype: String) -> Int? {
        fields.firstIndex { $0.utype?.caseInsensitiveCompare(utype) == .orderedSame }
    }

    /// The first column whose `ucd` is `ucd`, compared case-insensitively.
    public func column(ucd: String) -> Int? {
        fields.firstIndex { $0.ucd?.caseInsensitiveCompare(ucd) == .orderedSame }
    }

    /// The cell at `row`, `column`.
    public func value(row: Int, column: Int) -> VOValue { cells[row * fields.count + column] }

    /// Row `index`, from 0.
    public subscript(row index: Int) -> VORow { VORow(table: self, index: index) }

    /// Every row, in the order the service sent them.
    public var rows: [VORow] { (0..<rowCount).map { VORow(table: self, index: $0) } }

    /// The first PARAM named `name` (compared case-insensitively), here or in a GROUP.
    public func param(named name: String) -> VOParam? {
        params.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
            ?? groups.lazy.compactMap { $0.param(named: name) }.first
    }
}

/// Cells in blocks of 65,536, so that a growing table never copies (and never holds twice)
/// all its cells, as one array would each time it doubles.
struct VOCellStore: Sendable, Hashable {
    private static let blockShift = 16
    private var blocks: [[VOValue]] = []
    private(set) var count = 0

    mutating func append(_ value: VOValue) {
        if count & ((1 << Self.blockShift) - 1) == 0 {
            blocks.append([])
            blocks[blocks.count - 1].reserveCapacity(1 << Self.blockShift)
        }
        blocks[blocks.count - 1].append(value)
        count += 1
    }

    mutating func append(contentsOf values: [VOValue]) {
        for value in values { append(value) }
    }

    subscript(index: Int) -> VOValue { blocks[index >> Self.blockShift][index & ((1 << Self.blockShift) - 1)] }
}

/// One row of a `VOTable`, read by column name (case-insensitive) or position.
public struct VORow: Sendable {
    public let table: VOTable
    /// The row's place in the table, from 0.
    public let index: Int

    /// The cell of the column named `name`; nil when the table has no such column.
    public subscript(_ name: String) -> VOValue? {
        table.column(named: name).map { table.value(row: index, column: $0) }
    }

    /// The cell of column `column`.
    public subscript(column column: Int) -> VOValue { table.value(row: index, column: column) }

    /// The text of column `name`; nil when null or absent.
    public func string(_ name: String) -> String? { self[name]?.string }

    /// The integer of column `name`; nil when null or absent.
    public func integer(_ name: String) -> Int64? { self[name]?.integer }

    /// The number of column `name`; nil when null or absent.
    public func double(_ name: String) -> Double? { self[name]?.double }

    /// The boolean of column `name`; nil when null or absent.
    public func boolean(_ name: String) -> Bool? { self[name]?.boolean }

    /// The row's cells in column order.
    public var values: [VOValue] { (0..<table.fields.count).map { table.value(row: index, column: $0) } }
}

/// A parsed VOTable document.
public struct VOTableDocument: Sendable, Hashable {
    /// The `version` attribute of VOTABLE.
    public var version: String?
    /// The namespace of VOTABLE; empty when it has none.
    public var namespace: String
    /// INFO elements directly under VOTABLE.
    public var infos: [VOInfo]
    /// PARAMs directly under VOTABLE.
    public var params: [VOParam]
    public var groups: [VOGroup]
    /// The top-level RESOURCEs, in document order.
    public var resources: [VOResource]

    /// The results RESOURCE: the first with `type="results"`, else the first without a type,
    /// looking through nested RESOURCEs too.
    public var resultsResource: VOResource? {
        let all = allResources
        return all.first { $0.type?.lowercased() == "results" } ?? all.first { $0.type == nil }
    }

    /// The first TABLE of the results RESOURCE (or of a RESOURCE nested in it).
    public var resultsTable: VOTable? {
        guard let results = resultsResource else { return nil }
        return Self.flatten([results]).lazy.flatMap(\.tables).first
    }

    /// Every RESOURCE, depth first in document order.
    public var allResources: [VOResource] { Self.flatten(resources) }

    /// DataLink service descriptors (`type="meta"`, `utype="adhoc:service"`).
    public var serviceDescriptors: [VOResource] { allResources.filter(\.isServiceDescriptor) }

    /// The RESOURCE whose `ID` is `id`.
    public func resource(id: String) -> VOResource? { allResources.first { $0.id == id } }

    private static func flatten(_ resources: [VOResource]) -> [VOResource] {
        resources.flatMap { [$0] + flatten($0.resources) }
    }
}
