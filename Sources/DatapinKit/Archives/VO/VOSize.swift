import Foundation

/// Sizes in bytes read through a FIELD's `unit`: ObsCore's `access_estsize` is in kbyte
/// (1000 bytes), DataLink's `content_length` and SSA's `ssa:Access.Size` in bytes.
public enum VOSize {
    /// ObsCore's unit for `access_estsize`, when the FIELD gives none.
    public static let obsCoreEstimateUnit = "kbyte"
    /// DataLink's unit for `content_length` and SSA's for `ssa:Access.Size`, when the FIELD gives none.
    public static let byteUnit = "byte"

    /// Bytes in one `unit` (VOUnits: `byte`, `B`, the decimal prefixes k M G T P, the binary
    /// prefixes Ki Mi Gi Ti); nil when `unit` is not a size.
    public static func bytes(inOne unit: String) -> Int64? {
        let trimmed = unit.trimmingCharacters(in: .whitespaces)
        for base in ["byte", "bytes", "B"] where trimmed.hasSuffix(base) {
            let prefix = String(trimmed.dropLast(base.count))
            if let factor = prefixes[prefix] { return factor }
        }
        return nil
    }

    private static let prefixes: [String: Int64] = [
        "": 1, "k": 1000, "K": 1000, "M": 1_000_000, "G": 1_000_000_000, "T": 1_000_000_000_000, "P": 1_000_000_000_000_000,
        "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
    ]
}

extension VOTable {
    /// The size in bytes in column `column` of row `row`, read through the FIELD's unit, or
    /// `unitIfMissing` when the FIELD has none; nil when the cell is null. A size of a fraction
    /// of a byte is rounded to the nearest byte.
    public func bytes(row: Int, column: Int, unitIfMissing: String) throws(VOTableError) -> Int64? {
        let field = fields[column]
        let unit = field.unit.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } ?? unitIfMissing
        guard let factor = VOSize.bytes(inOne: unit) else { throw .notASizeUnit(field: field.name, unit: unit) }
        switch value(row: row, column: column) {
        case .integer(let count):
            let (product, overflow) = count.multipliedReportingOverflow(by: factor)
            guard !overflow else { throw .badCell(row: row, field: field.name, text: String(count), datatype: field.datatype) }
            return product
        case .double(let count):
            let product = (count * Double(factor)).rounded()
            guard product.isFinite, abs(product) < 9.2e18 else { throw .badCell(row: row, field: field.name, text: String(count), datatype: field.datatype) }
            return Int64(product)
        case .null:
            return nil
        default:
            throw .badCell(row: row, field: field.name, text: "\(value(row: row, column: column))", datatype: field.datatype)
        }
    }
}

extension VORow {
    /// The size in bytes in the column named `name`, read through its FIELD's unit (or
    /// `unitIfMissing`); nil when null or when the table has no such column.
    public func bytes(_ name: String, unitIfMissing: String) throws(VOTableError) -> Int64? {
        guard let column = table.column(named: name) else { return nil }
        return try table.bytes(row: index, column: column, unitIfMissing: unitIfMissing)
    }
}
