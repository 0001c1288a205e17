@testable import DatapinArchives
import Testing

@Suite struct ServedFileNameTests {
    @Test(arguments: [
        ("attachment; filename=\"POT032_000002E.fits\"", "POT032_000002E.fits"),
        ("attachment; filename=plain.fits", "plain.fits"),
        ("attachment; filename=\"fallback.fits\"; filename*=UTF-8''plate%20002F.fits", "plate 002F.fits"),
        ("attachment; filename*=UTF-8''%E8%A6%B3%E6%B8%AC.fits", "観測.fits"),
        ("attachment; filename=\"../../../etc/evil.fits\"", "evil.fits"),
        ("attachment; filename=\"C:\\\\temp\\\\x.fits\"", "x.fits"),
    ])
    func aContentDispositionGivesItsLastNameSegment(header: String, name: String) {
        #expect(ServedFileName.fromContentDisposition(header) == name)
    }

    @Test(arguments: ["inline", "attachment; filename=\"\"", "attachment; filename=\"..\"", "attachment; filename=\"x\u{7}.fits\""])
    func aContentDispositionWithoutAUsableNameGivesNone(header: String) {
        #expect(ServedFileName.fromContentDisposition(header) == nil)
    }

    @Test func aURLEndingInASlashHasNoName() {
        #expect(ServedFileName.lastPathSegment(of: "https://example.org/files/") == nil)
        #expect(ServedFileName.lastPathSegment(of: "https://example.org/getproduct?plate=1") == "getproduct")
    }
}
