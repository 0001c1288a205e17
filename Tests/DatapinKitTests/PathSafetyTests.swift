import DatapinKit
import Foundation
import Testing

/// One path an archive could send us, and the words its refusal must contain.
struct UnsafePathCase: Sendable, CustomTestStringConvertible {
    var path: String
    var reason: String
    var testDescription: String { PathSafety.escaped(path.isEmpty ? "(empty)" : path) }
}

@Suite struct PathSafetyTests {
    static let safePaths = [
        "a.fits",
        "jw02734001001_02101_00001/jw02734001001_02101_00001-seg001_nis_cal.fits",
        "20.500.12269_72fe3ff6/raw/scan_001.h5",
        "ADP.2017-03-01T10:00:00.000.fits",
        "..a", "a..", "a..b/c...d",
        ".hidden/a",
        ".datapinx/a",
        "sub/.datapin/a",
        "données/été.fits",
        String(repeating: "x", count: PathSafety.maximumComponentBytes),
    ]

    static let unsafePaths: [UnsafePathCase] = [
        UnsafePathCase(path: "", reason: "empty"),
        UnsafePathCase(path: "/etc/passwd", reason: "absolute"),
        UnsafePathCase(path: "//server/share/x", reason: "absolute"),
        UnsafePathCase(path: "..", reason: "'..'"),
        UnsafePathCase(path: "../x", reason: "'..'"),
        UnsafePathCase(path: "ds/../../x", reason: "'..'"),
        UnsafePathCase(path: "ds/..", reason: "'..'"),
        UnsafePathCase(path: "./x", reason: "'.'"),
        UnsafePathCase(path: "ds/./x", reason: "'.'"),
        UnsafePathCase(path: "ds//x", reason: "empty component"),
        UnsafePathCase(path: "ds/", reason: "empty component"),
        UnsafePathCase(path: "a\u{0}b", reason: "control character"),
        UnsafePathCase(path: "ds/a\u{0}", reason: "control character"),
        UnsafePathCase(path: "a\nb", reason: "control character"),
        UnsafePathCase(path: "report\u{202E}fdp.exe", reason: "invisible format character U+202E"),
        UnsafePathCase(path: "ds/a\u{200B}b", reason: "invisible format character U+200B"),
        UnsafePathCase(path: "\u{2066}x\u{2069}", reason: "invisible format character U+2066"),
        UnsafePathCase(path: "a\rb", reason: "control character"),
        UnsafePathCase(path: "a\tb", reason: "control character"),
        UnsafePathCase(path: "\u{1B}[31mred", reason: "control character"),
        UnsafePathCase(path: "a\u{7F}", reason: "control character"),
        UnsafePathCase(path: "a\u{9B}31mred", reason: "control character"),
        UnsafePathCase(path: "a\u{85}b", reason: "control character"),
        UnsafePathCase(path: "..\\x", reason: "backslash"),
        UnsafePathCase(path: "C:\\x", reason: "backslash"),
        UnsafePathCase(path: ".datapin/state", reason: "reserves"),
        UnsafePathCase(path: ".DATAPIN-partial/x.fits", reason: "reserves"),
        UnsafePathCase(path: ".datapin", reason: "reserves"),
        UnsafePathCase(path: "ds/" + String(repeating: "é", count: 128), reason: "longer than 255 bytes"),
    ]

    @Test(arguments: safePaths)
    func acceptsPathsThatStayInside(_ path: String) {
        #expect(PathSafety.problem(with: path) == nil)
    }

    @Test(arguments: unsafePaths)
    func refusesWithAReason(_ example: UnsafePathCase) throws {
        let problem = try #require(PathSafety.problem(with: example.path))
        #expect(problem.contains(example.reason), "\(problem)")
        #expect(problem.hasPrefix("the path") || problem.hasPrefix("a path"))
    }

    /// Whatever a name is, when PathSafety lets it through, joining it to a destination and
    /// resolving `.`, `..` and symbolic names lexically stays strictly inside that destination.
    @Test func nothingItAcceptsLeavesTheDestination() {
        let destination = "/srv/data/destination"
        let pieces = ["a", "..", ".", "", "/", "\\", "x.fits", "\u{0}", "~", "...", ".datapin"]
        var candidates = Self.safePaths + Self.unsafePaths.map(\.path)
        for first in pieces {
            for second in pieces {
                for third in pieces {
                    candidates.append(first + second + third)
                    candidates.append([first, second, third].joined(separator: "/"))
                }
            }
        }
        var accepted = 0
        for candidate in candidates where PathSafety.problem(with: candidate) == nil {
            accepted += 1
            let resolved = URL(fileURLWithPath: destination).appendingPathComponent(candidate).standardized.path
            #expect(resolved.hasPrefix(destination + "/"), "'\(PathSafety.escaped(candidate))' resolves to \(resolved)")
            #expect(resolved.count > destination.count + 1)
        }
        #expect(accepted > 20)
    }

    @Test(arguments: [
        ("plain", "plain"),
        ("été/ünïcode", "été/ünïcode"),
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("a\tb", "a\\tb"),
        ("a\u{0}b", "a\\u{0}b"),
        ("\u{1B}[31m", "\\u{1B}[31m"),
        ("\u{7F}", "\\u{7F}"),
        ("\u{9B}", "\\u{9B}"),
        ("a\u{202E}b", "a\\u{202E}b"),
        ("\u{200B}\u{FEFF}", "\\u{200B}\\u{FEFF}"),
    ])
    func escapesControlCharactersForMessages(_ text: String, _ expected: String) {
        #expect(PathSafety.escaped(text) == expected)
    }

    /// Pairs Unicode's simple case folding makes one name (so a case-insensitive file system may
    /// too): folded alike, whatever the spelling. `ẞ` and `ß` need more than one round.
    @Test(arguments: [
        ("Data.BIN", "data.bin"),
        ("ÉTÉ/Ünïcode", "été/ünïcode"),
        ("\u{1E9E}", "\u{DF}"),
        ("\u{212A}elvin", "kelvin"),
        ("\u{17F}ub", "sub"),
        ("\u{3A3}\u{3C2}", "\u{3C3}\u{3C3}"),
        ("\u{13A0}", "\u{AB70}"),
    ])
    func foldsNamesThatCaseFoldingEquates(_ one: String, _ other: String) {
        #expect(PathSafety.caseFolded(one) == PathSafety.caseFolded(other))
    }

    @Test func foldsConservativelyRatherThanMissAClash() {
        #expect(PathSafety.caseFolded("stra\u{DF}e") == PathSafety.caseFolded("STRASSE"), "a false clash, which is allowed")
        #expect(PathSafety.caseFolded("a.bin") != PathSafety.caseFolded("b.bin"))
    }
}
