import DatapinSpec
import DatapinSupport
import Foundation

/// A static index as read from its text: datasets in catalog order, each with the files it
/// lists. Three formats are recognised by content: a JSON catalog, a `SHA256SUMS` file and a
/// pooch registry. URLs stay as the catalog writes them; `IndexArchive` resolves them.
struct IndexCatalog: Sendable, Equatable {
    /// One file as the catalog lists it.
    struct File: Sendable, Equatable {
        var name: String
        /// The catalog's `url`, relative to the catalog or absolute; nil means "the name".
        var url: String?
        var size: Int64?
        var sha256: String?
        var checksum: Checksum?
        /// The catalog's `modified`: when the file last changed, as the catalog writes it.
        var modified: String?
        var level: String?
        var suffix: String?
        var type: ProductType?
        var access: Access = .public
        var recommended = false
        var guidestar: Bool?
        var instrument: String?
        var filters: String?
    }

    /// One dataset and its files.
    struct Dataset: Sendable, Equatable {
        var id: String
        var files: [File]
    }

    var datasets: [Dataset]

    /// Why a catalog's text could not be read; `reason` names the place (`datasets[2].files[5].size`).
    struct ParseError: Error, Sendable, Equatable {
        var reason: String
    }

    /// Parses `data`; `stem` (the catalog file's name without extension) names the dataset of
    /// files that sit at the top level of a checksum list.
    static func parse(_ data: Data, stem: String) throws(ParseError) -> IndexCatalog {
        let firstByte = data.first(where: { !$0.isBlankOrByteOrderMark })
        if firstByte == UInt8(ascii: "{") || firstByte == UInt8(ascii: "[") {
            return try parseJSON(data)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ParseError(reason: "the catalog is neither JSON nor UTF-8 text")
        }
        return try parseLines(text, stem: stem)
    }

    // MARK: JSON catalogs

    private static func parseJSON(_ data: Data) throws(ParseError) -> IndexCatalog {
        let root: JSONValue
        if let fast = data.withUnsafeBytes({ JSONReader.read($0) }) {
            root = fast
        } else {
            do {
                root = try JSONDecoder().decode(JSONValue.self, from: data)
            } catch {
                throw ParseError(reason: "the catalog is not valid JSON")
            }
        }
        guard case .object(let object) = root else { throw ParseError(reason: "the catalog must be a JSON object with a 'datasets' array") }
        guard case .array(let datasets)? = object["datasets"] else { throw ParseError(reason: "'datasets' is missing or is not an array") }
        var result: [Dataset] = []
        var seen: Set<String> = []
        for (datasetIndex, datasetValue) in datasets.enumerated() {
            let datasetPath = "datasets[\(datasetIndex)]"
            let dataset = try JSONFields(datasetValue, path: datasetPath)
            let id = try dataset.requiredString("id")
            guard !id.isEmpty else { throw ParseError(reason: "\(datasetPath).id is empty") }
            guard seen.insert(id).inserted else { throw ParseError(reason: "\(datasetPath).id '\(id)' appears twice in the catalog") }
            let instrument = try dataset.string("instrument")
            let filters = try dataset.string("filters")
            guard let filesValue = dataset.values["files"] else { throw ParseError(reason: "\(datasetPath).files is missing") }
            guard case .array(let files) = filesValue else { throw ParseError(reason: "\(datasetPath).files must be an array") }
            var parsed: [File] = []
            for (fileIndex, fileValue) in files.enumerated() {
                let filePath = "\(datasetPath).files[\(fileIndex)]"
                let fields = try JSONFields(fileValue, path: filePath)
                let name = try fields.requiredString("name")
                guard !name.isEmpty else { throw ParseError(reason: "\(filePath).name is empty") }
                var file = File(name: name)
                file.url = try fields.string("url")
                file.size = try fields.size("size")
                if let sha256 = try fields.string("sha256") {
                    guard Hex.isHex(sha256, length: 64) else { throw ParseError(reason: "\(filePath).sha256 must be 64 hexadecimal digits") }
                    file.sha256 = sha256.lowercased()
                }
                if let checksum = try fields.string("checksum") {
                    guard let parsedChecksum = Checksum(checksum), (!parsedChecksum.hex.isEmpty && Hex.isHex(parsedChecksum.hex, length: parsedChecksum.hex.utf8.count)) else {
                        throw ParseError(reason: "\(filePath).checksum must be 'algorithm:hex', such as 'md5:9e107d9d372bb6826bd81d3542a419d6'")
                    }
                    if parsedChecksum.algorithm == "sha256" {
                        file.sha256 = parsedChecksum.hex
                    } else {
                        file.checksum = parsedChecksum
                    }
                }
                file.modified = try fields.string("modified").flatMap { $0.isEmpty ? nil : $0 }
                file.level = try fields.string("level")
                file.suffix = try fields.string("suffix")
                if let type = try fields.string("type") {
                    guard let value = ProductType(rawValue: type.lowercased()) else {
                        throw ParseError(reason: "\(filePath).type '\(type)' is not one of \(ProductType.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    file.type = value
                }
                if let access = try fields.string("access") {
                    guard let value = Access(rawValue: access.lowercased()) else {
                        throw ParseError(reason: "\(filePath).access '\(access)' is not one of public, exclusive")
                    }
                    file.access = value
                }
                file.recommended = try fields.bool("recommended") ?? false
                file.guidestar = try fields.bool("guidestar")
                file.instrument = try fields.string("instrument") ?? instrument
                file.filters = try fields.string("filters") ?? filters
                parsed.append(file)
            }
            result.append(Dataset(id: id, files: parsed))
        }
        return IndexCatalog(datasets: result)
    }

    /// A JSON value, decoded without losing the difference between `true` and `1`.
    private enum JSONValue: Decodable {
        case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
            else { self = .object(try container.decode([String: JSONValue].self)) }
        }
    }

    /// Reads plain UTF-8 JSON into `JSONValue`s in one pass, without `JSONDecoder`'s failed
    /// attempts at each type (each one an error with its coding path). It gives nil for anything
    /// it is not sure `JSONDecoder` reads to the same values: invalid JSON, a byte-order mark or
    /// another encoding, a repeated key, a number that is not finite, a bad escape or invalid
    /// UTF-8; `JSONDecoder` then decides.
    private struct JSONReader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        static func read(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
            var reader = JSONReader(bytes: bytes)
            guard let value = reader.value(depth: 0) else { return nil }
            reader.skipWhitespace()
            return reader.position == bytes.count ? value : nil
        }

        /// Deeper than this is left to `JSONDecoder`.
        private static let maximumDepth = 512

        private mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
            position += count
            return true
        }

        private mutating func value(depth: Int) -> JSONValue? {
            guard depth < Self.maximumDepth else { return nil }
            skipWhitespace()
            guard position < bytes.count else { return nil }
            switch bytes[position] {
            case 0x7B: return object(depth: depth)
            case 0x5B: return array(depth: depth)
            case 0x22: return string().map { .string($0) }
            case 0x74: return literal("true") ? .bool(true) : nil
            case 0x66: return literal("false") ? .bool(false) : nil
            case 0x6E: return literal("null") ? .null : nil
            default: return number()
            }
        }

        private mutating func object(depth: Int) -> JSONValue? {
            position += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if position < bytes.count, bytes[position] == 0x7D {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == 0x22, let key = string() else { return nil }
                skipWhitespace()
                guard position < bytes.count, bytes[position] == 0x3A else { return nil }
                position += 1
                guard let member = value(depth: depth + 1), members.updateValue(member, forKey: key) == nil else { return nil }
                skipWhitespace()
                guard position < bytes.count else { return nil }
                if bytes[position] == 0x2C { position += 1; continue }
                guard bytes[position] == 0x7D else { return nil }
                position += 1
                return .object(members)
            }
        }

        private mutating func array(depth: Int) -> JSONValue? {
            position += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == 0x5D {
                position += 1
                return .array(items)
            }
            while true {
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipWhitespace()
                guard position < bytes.count else { return nil }
                if bytes[position] == 0x2C { position += 1; continue }
                guard bytes[position] == 0x5D else { return nil }
                position += 1
                return .array(items)
            }
        }

        /// A string without escapes is taken as it stands (validated as UTF-8); one with
        /// escapes other than the simple ones and `\u` of the Basic Multilingual Plane is left
        /// to `JSONDecoder`.
        private mutating func string() -> String? {
            position += 1
            let start = position
            var escaped = false
            while position < bytes.count {
                let byte = bytes[position]
                if byte == 0x22 { break }
                if byte < 0x20 { return nil }
                if byte == 0x5C {
                    escaped = true
                    position += 2
                    continue
                }
                position += 1
            }
            guard position < bytes.count else { return nil }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
            position += 1
            return escaped ? Self.unescaped(raw) : Self.validated(raw)
        }

        /// The UTF-8 bytes as a string, nil when they are not valid UTF-8.
        private static func validated(_ raw: UnsafeRawBufferPointer) -> String? {
            if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
            return String(bytes: raw, encoding: .utf8)
        }

        private static func unescaped(_ raw: UnsafeRawBufferPointer) -> String? {
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            var index = 0
            while index < raw.count {
                let byte = raw[index]
                guard byte == 0x5C else {
                    out.append(byte)
                    index += 1
                    continue
                }
                guard index + 1 < raw.count else { return nil }
                switch raw[index + 1] {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    guard index + 6 <= raw.count,
                          let code = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: raw[(index + 2)..<(index + 6)]), as: UTF8.self), radix: 16),
                          raw[(index + 2)..<(index + 6)].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }),
                          let scalar = Unicode.Scalar(code)
                    else { return nil }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    index += 6
                    continue
                default: return nil
                }
                index += 2
            }
            return out.withUnsafeBytes { validated($0) }
        }

        /// A number as JSON writes it, read by `Double`; nil when it is not finite.
        private mutating func number() -> JSONValue? {
            let start = position
            func digits() -> Int {
                let from = position
                while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
                return position - from
            }
            if position < bytes.count, bytes[position] == 0x2D { position += 1 }
            let integerStart = position
            let integerDigits = digits()
            guard integerDigits > 0, !(integerDigits > 1 && bytes[integerStart] == 0x30) else { return nil }
            if position < bytes.count, bytes[position] == 0x2E {
                position += 1
                guard digits() > 0 else { return nil }
            }
            if position < bytes.count, bytes[position] | 0x20 == 0x65 {
                position += 1
                if position < bytes.count, bytes[position] == 0x2B || bytes[position] == 0x2D { position += 1 }
                guard digits() > 0 else { return nil }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let number = Double(text), number.isFinite else { return nil }
            return .number(number)
        }
    }

    /// Typed access to one JSON object's fields, with errors that name the JSON path.
    private struct JSONFields {
        let values: [String: JSONValue]
        let path: String

        init(_ value: JSONValue, path: String) throws(ParseError) {
            guard case .object(let object) = value else { throw ParseError(reason: "\(path) must be an object") }
            self.values = object
            self.path = path
        }

        func requiredString(_ key: String) throws(ParseError) -> String {
            guard let value = try string(key) else { throw ParseError(reason: "\(path).\(key) is missing") }
            return value
        }

        func string(_ key: String) throws(ParseError) -> String? {
            switch values[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw ParseError(reason: "\(path).\(key) must be a string")
            }
        }

        func bool(_ key: String) throws(ParseError) -> Bool? {
            switch values[key] {
            case nil, .null?: return nil
            case .bool(let flag)?: return flag
            default: throw ParseError(reason: "\(path).\(key) must be true or false")
            }
        }

        func size(_ key: String) throws(ParseError) -> Int64? {
            switch values[key] {
            case nil, .null?: return nil
            case .number(let number)?:
                guard number >= 0, number < 9.0e18, number.rounded() == number else { fallthrough }
                return Int64(number)
            default: throw ParseError(reason: "\(path).\(key) must be a whole number of bytes, 0 or more")
            }
        }
    }

    // MARK: SHA256SUMS and pooch registries

    private static func parseLines(_ text: String, stem: String) throws(ParseError) -> IndexCatalog {
        var order: [String] = []
        var filesByDataset: [String: [File]] = [:]
        var seenNames: Set<String> = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let file = try parseChecksumLine(trimmed, lineNumber: lineNumber)
            guard seenNames.insert(file.name).inserted else { throw ParseError(reason: "line \(lineNumber): '\(file.name)' is listed twice") }
            let (dataset, filename) = split(file.name, stem: stem)
            var entry = file
            entry.name = filename
            entry.url = file.url ?? file.name
            if filesByDataset[dataset] == nil { order.append(dataset) }
            filesByDataset[dataset, default: []].append(entry)
        }
        return IndexCatalog(datasets: order.map { Dataset(id: $0, files: filesByDataset[$0] ?? []) })
    }

    /// `<hex>  <path>` / `<hex> *<path>` (sha256sum) or `<name> <alg:hash|hash> [url]` (pooch).
    private static func parseChecksumLine(_ line: String, lineNumber: Int) throws(ParseError) -> File {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count >= 2 else {
            throw ParseError(reason: "line \(lineNumber) is neither '<sha256>  <path>' (SHA256SUMS) nor '<name> <hash> [url]' (pooch registry)")
        }
        if Hex.isHex(fields[0], length: 64) {
            // sha256sum output: the path is everything after the two-character separator.
            let afterHash = line.dropFirst(64)
            var path = afterHash.hasPrefix(" *") || afterHash.hasPrefix("  ") ? String(afterHash.dropFirst(2)) : afterHash.trimmingCharacters(in: .whitespaces)
            if path.hasPrefix("./") { path.removeFirst(2) }
            guard !path.isEmpty else { throw ParseError(reason: "line \(lineNumber) has a checksum but no path") }
            return File(name: path, sha256: fields[0].lowercased())
        }
        guard fields.count <= 3 else { throw ParseError(reason: "line \(lineNumber): a pooch registry line is '<name> <hash> [url]'; names with spaces are not supported") }
        var name = fields[0]
        if name.hasPrefix("./") { name.removeFirst(2) }
        var file = File(name: name)
        let hash = fields[1]
        if let checksum = Checksum(hash) {
            guard (!checksum.hex.isEmpty && Hex.isHex(checksum.hex, length: checksum.hex.utf8.count)) else { throw ParseError(reason: "line \(lineNumber): '\(hash)' is not 'algorithm:hex'") }
            if checksum.algorithm == "sha256" {
                guard Hex.isHex(checksum.hex, length: 64) else { throw ParseError(reason: "line \(lineNumber): a sha256 hash has 64 hexadecimal digits") }
                file.sha256 = checksum.hex
            } else {
                file.checksum = checksum
            }
        } else if Hex.isHex(hash, length: 64) {
            file.sha256 = hash.lowercased()
        } else {
            throw ParseError(reason: "line \(lineNumber): '\(hash)' is not a hash; write 64 hexadecimal digits (SHA-256) or 'algorithm:hex'")
        }
        if fields.count == 3 { file.url = fields[2] }
        return file
    }

    /// The dataset is the first path component; a file at the top level belongs to `stem`.
    private static func split(_ path: String, stem: String) -> (dataset: String, filename: String) {
        guard let slash = path.firstIndex(of: "/") else { return (stem, path) }
        let dataset = String(path[..<slash]), rest = String(path[path.index(after: slash)...])
        return rest.isEmpty ? (stem, path) : (dataset, rest)
    }
}

private extension UInt8 {
    /// A blank, a line break, or a byte of UTF-8's byte-order mark: what may precede a JSON catalog's `{`.
    var isBlankOrByteOrderMark: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D || self == 0xEF || self == 0xBB || self == 0xBF }
}
