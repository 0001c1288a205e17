@testable import DatapinLock
import Testing

/// The byte-level rule for ASCII values decides exactly as the rule on Unicode scalars, so the
/// lock's text does not change with the fast path.
@Suite struct YAMLScalarASCIITests {
    static let samples: [String] = [
        "", " ", "a", "3", "2b", "-1", "+1", "-", "+", ".", "..", ".5", "5.", "1.2.3", "1_000", "1:20", "1:2a", "1e5", "1E5", "1e+5", "1e-5",
        "1e", "e5", "1e5e", "0x1F", "0X1f", "0x", "0xg", "0b101", "0b2", "0o17", "0o8", "0B1", "0O7", ".inf", "-.INF", "+.nan", ".Nan", "inf",
        "null", "NULL", "Null", "~", "true", "False", "YES", "no", "On", "off", "y", "N", "<<", "=", "nulls", "yes!",
        "2024-01-02", "2024-1-2", "2024-1-2T10:00", "2024-01-02t", "2024-01-02 ", "2024-01-02x", "2024-01-022", "2024-001-02", "202-01-02",
        "2024_01_02", "2024-01-", "2024--02", "20240-1-2", "a: b", "a:b", "a #b", "a#b", "trailing:", "[x]", "{x}", "x,y", "*ref", "&a", "!t",
        "|", ">", "%x", "@x", "`x`", "'s'", "\"d\"", "back\\slash", " lead", "trail ", "tab\there", "line\nbreak", "del\u{7F}",
        "ds0000/f000000.bin", "http://127.0.0.1:38843/noop/files/ds0000/f000000.bin", "index:bench/ds0000/f000000.bin",
        "4ce71592433eecda507688130567889b767756f5a32c40b7617e363c15f59c7a", "sha256:2636c03f8f", "CLEAR;GR700XD", "F150W/CLEAR", "100%",
        "?q=1&r=2", "é", "naïve-2024-01-02",
    ]

    @Test func asciiRuleAgreesWithTheScalarRule() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("019eExXbBoO.+-_: #,[]{}tTnNlLuyYsaf/\t".utf8)
        var texts = Self.samples
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &generator)
            texts.append(String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self))
        }
        for text in texts {
            for inFlow in [false, true] {
                #expect(YAMLScalar.isSafePlain(text, inFlow: inFlow) == YAMLScalar.isSafePlainByScalars(text, inFlow: inFlow), "\(text.debugDescription) inFlow \(inFlow)")
            }
        }
    }
}
