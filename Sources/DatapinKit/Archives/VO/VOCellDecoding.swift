import Foundation

/// Reads one FIELD's cells from TABLEDATA text or from the bytes of a BINARY or BINARY2 stream.
struct VOCellDecoder: Sendable {
    let field: VOField
    /// The `VALUES null` literal read as an integer, for the integer types.
    private let integerNull: Int64?

    init(_ field: VOField) {
        self.field = field
        integerNull = field.datatype.isInteger ? field.nullLiteral.flatMap { Self.integer($0.trimmingCharacters(in: .whitespaces)) } : nil
    }

    /// True when a non-character cell holds one element, not an array: no `arraysize`, or a
    /// fixed size of 1.
    private var isSingle: Bool {
        field.arraysize.isScalar || (!field.arraysize.isVariable && field.arraysize.fixedCount == 1)
    }

    // MARK: TABLEDATA and PARAM values

    /// The value of a TD's (or a PARAM `value`'s) text; nil when the text is not one of the
    /// field's datatype.
    func decode(text: String) -> VOValue? {
        if field.datatype.isCharacter {
            if text.isEmpty || text == field.nullLiteral { return .null }
            return .string(text)
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .null }
        if let literal = field.nullLiteral, trimmed == literal.trimmingCharacters(in: .whitespaces) { return .null }
        if isSingle && field.datatype != .floatComplex && field.datatype != .doubleComplex {
            return element(trimmed)
        }
        var words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        if field.datatype == .bit, words.count == 1, words[0].count > 1 {
            words = words[0].map(String.init)
        }
        var elements: [VOValue] = []
        elements.reserveCapacity(words.count)
        for word in words {
            guard let value = element(word) else { return nil }
            elements.append(value)
        }
        if field.datatype == .floatComplex || field.datatype == .doubleComplex {
            guard elements.count % 2 == 0 else { return nil }
            if isSingle { return .array(elements) }
            return .array(stride(from: 0, to: elements.count, by: 2).map { .array([elements[$0], elements[$0 + 1]]) })
        }
        return .array(elements)
    }

    /// One element's text (trimmed, not empty).
    private func element(_ text: String) -> VOValue? {
        switch field.datatype {
        case .boolean:
            switch text.lowercased() {
            case "t", "1", "true": return .boolean(true)
            case "f", "0", "false": return .boolean(false)
            case "?": return .null
            default: return nil
            }
        case .bit:
            switch text {
            case "0": return .integer(0)
            case "1": return .integer(1)
            default: return nil
            }
        case .unsignedByte, .short, .int, .long:
            guard let number = Self.integer(text), fits(number) else { return nil }
            if let integerNull, number == integerNull { return .null }
            return .integer(number)
        case .float, .double, .floatComplex, .doubleComplex:
            guard let number = Self.double(text) else { return nil }
            return number.isNaN ? .null : .double(number)
        case .char, .unicodeChar:
            return .string(text)
        }
    }

    /// Whether `number` is within the field's integer type.
    private func fits(_ number: Int64) -> Bool {
        switch field.datatype {
        case .unsignedByte: return (0...255).contains(number)
        case .short: return (Int64(Int16.min)...Int64(Int16.max)).contains(number)
        case .int: return (Int64(Int32.min)...Int64(Int32.max)).contains(number)
        default: return true
        }
    }

    /// A decimal or `0x` hexadecimal integer, with an optional sign (hexadecimal gives the bit
    /// pattern of a `long`).
    static func integer(_ text: String) -> Int64? {
        if let value = Int64(text) { return value }
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        guard rest.lowercased().hasPrefix("0x"), let magnitude = UInt64(rest.dropFirst(2), radix: 16) else { return nil }
        guard negative else { return Int64(truncatingIfNeeded: magnitude) }
        return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
    }

    /// A floating-point number as VOTable writes it (`NaN`, `+Inf`, `-Inf`, `1e-3` …).
    static func double(_ text: String) -> Double? {
        if let value = Double(text) { return value }
        switch text.lowercased() {
        case "nan", "+nan", "-nan": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: return nil
        }
    }

    // MARK: BINARY and BINARY2

    /// Reads the field's value at `offset` in `bytes`, moving `offset` past it; nil when the
    /// bytes end first (the caller waits for more of the stream). Throws when the value is not
    /// one of the field's datatype.
    func decode(bytes: UnsafeRawBufferPointer, offset: inout Int, row: Int) throws(VOTableError) -> VOValue? {
        var count = field.arraysize.fixedCount
        let variable = field.arraysize.isVariable
        if variable {
            guard offset + 4 <= bytes.count else { return nil }
            let length = Self.bigEndian(bytes, offset, 4)
            guard length <= UInt64(Int32.max) else { throw .badStream("row \(row + 1) gives the field '\(field.name)' a length of \(length)") }
            count = Int(length)
            offset += 4
        }
        let size = field.datatype == .bit ? (count + 7) / 8 : count * field.datatype.elementBytes
        guard offset + size <= bytes.count else { return nil }
        let start = offset
        offset += size
        switch field.datatype {
        case .char:
            var end = start
            while end < start + size, bytes[end] != 0 { end += 1 }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            return text.isEmpty || text == field.nullLiteral ? .null : .string(text)
        case .unicodeChar:
            var units: [UInt16] = []
            units.reserveCapacity(count)
            for index in 0..<count {
                let unit = UInt16(Self.bigEndian(bytes, start + 2 * index, 2))
                if unit == 0 { break }
                units.append(unit)
            }
            let text = String(decoding: units, as: UTF16.self)
            return text.isEmpty || text == field.nullLiteral ? .null : .string(text)
        case .bit:
            let bits = (0..<count).map { index -> VOValue in .integer(Int64((bytes[start + index / 8] >> (7 - UInt8(index % 8))) & 1)) }
            return isSingle && !variable ? bits[0] : .array(bits)
        case .floatComplex, .doubleComplex:
            let half = field.datatype.elementBytes / 2
            let pairs = (0..<count).map { index -> VOValue in
                let base = start + index * 2 * half
                return .array([number(bytes, base, half), number(bytes, base + half, half)])
            }
            return isSingle && !variable ? pairs[0] : .array(pairs)
        default:
            var elements: [VOValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                let value = try element(bytes, start + index * field.datatype.elementBytes, row: row)
                elements.append(value)
            }
            return isSingle && !variable ? elements[0] : .array(elements)
        }
    }

    private func element(_ bytes: UnsafeRawBufferPointer, _ offset: Int, row: Int) throws(VOTableError) -> VOValue {
        let width = field.datatype.elementBytes
        switch field.datatype {
        case .boolean:
            switch bytes[offset] {
            case UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: "1"): return .boolean(true)
            case UInt8(ascii: "F"), UInt8(ascii: "f"), UInt8(ascii: "0"): return .boolean(false)
            case UInt8(ascii: "?"), UInt8(ascii: " "), 0: return .null
            default: throw .badCell(row: row, field: field.name, text: "byte \(bytes[offset])", datatype: .boolean)
            }
        case .unsignedByte:
            return integerValue(Int64(bytes[offset]))
        case .short:
            return integerValue(Int64(Int16(bitPattern: UInt16(Self.bigEndian(bytes, offset, width)))))
        case .int:
            return integerValue(Int64(Int32(bitPattern: UInt32(Self.bigEndian(bytes, offset, width)))))
        case .long:
            return integerValue(Int64(bitPattern: Self.bigEndian(bytes, offset, width)))
        default:
            return number(bytes, offset, width)
        }
    }

    private func integerValue(_ value: Int64) -> VOValue {
        if let integerNull, value == integerNull { return .null }
        return .integer(value)
    }

    /// A big-endian IEEE float (4 bytes) or double (8 bytes); NaN is null.
    private func number(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> VOValue {
        let bits = Self.bigEndian(bytes, offset, width)
        let value = width == 4 ? Double(Float(bitPattern: UInt32(bits))) : Double(bitPattern: bits)
        return value.isNaN ? .null : .double(value)
    }

    /// `width` bytes at `offset` as a big-endian unsigned integer.
    static func bigEndian(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<(offset + width) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }
}

/// Decodes a base64 STREAM piece by piece into rows, holding only the bytes of the row being
/// read: BINARY (the fields one after another) or BINARY2 (each row led by ⌊(N+7)/8⌋ bytes of
/// null flags, the most significant bit of the first byte for the first field).
struct VOBinaryRowReader {
    let decoders: [VOCellDecoder]
    let hasNullFlags: Bool
    private(set) var cells = VOCellStore()
    private(set) var rowCount = 0
    private var pending: [UInt8] = []
    /// The sextets of the base64 group being read, and how many there are.
    private var group: UInt32 = 0
    private var groupLength = 0
    /// '=' characters in the group being read.
    private var groupPadding = 0
    /// True after a group ended with '=': the text must end there.
    private var ended = false

    init(decoders: [VOCellDecoder], hasNullFlags: Bool) {
        self.decoders = decoders
        self.hasNullFlags = hasNullFlags
    }

    /// Takes the next piece of the STREAM's base64 text (whitespace is skipped).
    mutating func take(base64 bytes: UnsafeRawBufferPointer) throws(VOTableError) {
        pending.reserveCapacity(pending.count + bytes.count / 4 * 3 + 3)
        for byte in bytes {
            let value = Self.sextets[Int(byte)]
            if value == Self.whitespace { continue }
            if value == Self.pad {
                guard groupLength >= 2, groupLength + groupPadding < 4 else { throw .badStream("the base64 text has '=' where it cannot") }
                groupPadding += 1
            } else {
                guard value != Self.invalid else { throw .badStream("'\(Character(Unicode.Scalar(byte)))' is not a base64 character") }
                guard !ended, groupPadding == 0 else { throw .badStream("the base64 text continues after its '=' padding") }
                group = group << 6 | UInt32(value)
                groupLength += 1
            }
            guard groupLength + groupPadding == 4 else { continue }
            let bits = group << (6 * UInt32(4 - groupLength))
            pending.append(UInt8(bits >> 16 & 0xFF))
            if groupLength > 2 { pending.append(UInt8(bits >> 8 & 0xFF)) }
            if groupLength > 3 { pending.append(UInt8(bits & 0xFF)) }
            ended = groupPadding > 0
            group = 0
            groupLength = 0
            groupPadding = 0
        }
        try readRows()
    }

    /// Ends the stream: every byte must belong to a whole row.
    mutating func finish() throws(VOTableError) {
        guard groupLength == 0, groupPadding == 0 else { throw .badStream("the base64 text is not a whole number of 4-character groups") }
        try readRows()
        guard pending.isEmpty else { throw .badStream("it ends inside row \(rowCount + 1) (\(pending.count) bytes left over)") }
    }

    private mutating func readRows() throws(VOTableError) {
        let fieldCount = decoders.count
        guard fieldCount > 0 else { return }
        let flagBytes = hasNullFlags ? (fieldCount + 7) / 8 : 0
        var consumed = 0
        var rowCells: [VOValue] = []
        rowCells.reserveCapacity(fieldCount)
        var decoded: [VOValue] = []
        var rows = 0
        let failure: VOTableError? = pending.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> VOTableError? in
            rows: while consumed < bytes.count, consumed + flagBytes <= bytes.count {
                var offset = consumed + flagBytes
                rowCells.removeAll(keepingCapacity: true)
                for (index, decoder) in decoders.enumerated() {
                    let value: VOValue?
                    do throws(VOTableError) {
                        value = try decoder.decode(bytes: bytes, offset: &offset, row: rowCount + rows)
                    } catch {
                        return error
                    }
                    guard let value else { break rows }
                    let isFlagged = hasNullFlags && bytes[consumed + index / 8] & (0x80 >> UInt8(index % 8)) != 0
                    rowCells.append(isFlagged ? .null : value)
                }
                decoded.append(contentsOf: rowCells)
                rows += 1
                consumed = offset
            }
            return nil
        }
        if let failure { throw failure }
        cells.append(contentsOf: decoded)
        rowCount += rows
        if consumed > 0 { pending.removeFirst(consumed) }
    }

    private static let invalid: UInt8 = 0xFF
    private static let whitespace: UInt8 = 0xFE
    private static let pad: UInt8 = 0xFD

    /// Each byte's base64 value, or `invalid`, `whitespace`, `pad`.
    private static let sextets: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(byte)] = UInt8(index) }
        for byte in [0x20, 0x09, 0x0A, 0x0D] { table[byte] = whitespace }
        table[Int(UInt8(ascii: "="))] = pad
        return table
    }()
}
