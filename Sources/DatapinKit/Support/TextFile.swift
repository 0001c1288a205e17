import Foundation

/// The bytes of a file datapin parses (the spec, the lock) as UTF-8 text. A binary or
/// mis-encoded file is refused at the line and column of its first bad byte, in datapin's words.
package enum TextFile {
    /// Why some bytes are not text datapin can read.
    enum Problem: Equatable {
        /// A NUL byte: no text file has one.
        case nul
        /// A byte that does not start or continue a valid UTF-8 sequence.
        case invalidUTF8(byte: UInt8, looksLikeUTF16: Bool)

        func message(file: String) -> String {
            switch self {
            case .nul:
                return "\(file) has a NUL byte here, so it is a binary file, not text; \(file) must be UTF-8 text"
            case .invalidUTF8(let byte, true):
                return "byte 0x\(String(byte, radix: 16, uppercase: true)) here is not UTF-8: \(file) looks like UTF-16 text; save it as UTF-8"
            case .invalidUTF8(let byte, false):
                return "byte 0x\(String(byte, radix: 16, uppercase: true)) here is not UTF-8, so \(file) is a binary file or in another encoding (such as Latin-1); \(file) must be UTF-8 text"
            }
        }
    }

    /// `data` as a string, or one diagnostic at the first NUL or invalid UTF-8 byte; `file`
    /// names the file in the diagnostic.
    package static func decode(_ data: Data, file: String) throws(DiagnosticList) -> String {
        let hasNUL = data.withUnsafeBytes { $0.baseAddress.map { memchr($0, 0, data.count) != nil } ?? false }
        if !hasNUL, let text = String(data: data, encoding: .utf8) { return text }
        if let (problem, location) = firstProblem(in: data, file: file) {
            throw DiagnosticList([Diagnostic(.error, problem.message(file: file), at: location)])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The first NUL or invalid UTF-8 sequence of `data` and its line and column (columns
    /// count characters, as libyaml's positions do); nil when every byte is fine.
    static func firstProblem(in data: Data, file: String) -> (Problem, SourceLocation)? {
        let bytes = [UInt8](data)
        let looksLikeUTF16 = bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF])
        var line = 1, column = 1, offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                let location = SourceLocation(file: file, line: line, column: column)
                if scalar == "\0" { return (.nul, location) }
                offset += UTF8.width(scalar)
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                return nil
            case .error:
                return (.invalidUTF8(byte: bytes[offset], looksLikeUTF16: looksLikeUTF16), SourceLocation(file: file, line: line, column: column))
            }
        }
    }
}
