import DatapinKit
import Testing

/// The one rule for paths laid out together in a destination, as lock and sync apply it.
@Suite struct LaidOutPathsTests {
    @Test func namesLikeTheManifestClashOnlyWhenTheManifestIsWritten() {
        let paths = ["Manifest.JSON", "ds1/MANIFEST.html", "MANIFEST.html"]
        #expect(LaidOutPaths.clashes(among: paths, manifest: true, caseSensitive: true) == [
            .manifest(path: "MANIFEST.html", manifest: "MANIFEST.html"),
            .manifest(path: "Manifest.JSON", manifest: "manifest.json"),
        ], "compared without case, at the top only")
        #expect(LaidOutPaths.clashes(among: paths, manifest: false, caseSensitive: true).isEmpty)
    }

    @Test func pathsThatDifferOnlyInCaseClashUnlessTheDestinationTellsThemApart() {
        let paths = ["ds1/data.bin", "ds1/Data.bin", "ds1/Sub/x.bin", "ds1/sub/y.bin", "ds1/other.bin"]
        #expect(LaidOutPaths.clashes(among: paths, manifest: false, caseSensitive: false) == [
            .caseOnly(path: "ds1/data.bin", earlier: "ds1/Data.bin", spelling: "ds1/data.bin", earlierSpelling: "ds1/Data.bin"),
            .caseOnly(path: "ds1/sub/y.bin", earlier: "ds1/Sub/x.bin", spelling: "ds1/sub", earlierSpelling: "ds1/Sub"),
        ])
        #expect(LaidOutPaths.clashes(among: paths, manifest: false, caseSensitive: true).isEmpty)
    }

    @Test func aPathRefusedIsNotLaidOut() {
        var laidOut = LaidOutPaths(manifest: true, caseSensitive: false)
        #expect(laidOut.clash(with: "manifest.json") != nil)
        laidOut.insert("a/b.bin")
        #expect(laidOut.clash(with: "a/b.bin") == nil, "the same spelling is the same file")
        #expect(laidOut.clash(with: "A") == .caseOnly(path: "A", earlier: "a/b.bin", spelling: "A", earlierSpelling: "a"))
    }
}
