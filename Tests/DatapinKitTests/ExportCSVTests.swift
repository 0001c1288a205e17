import DatapinKit
@testable import DatapinExport
@testable import DatapinLock
@testable import DatapinSelection
import Testing

/// `export csv`: MAST's overlay columns, one row per listing dataset, RFC 4180 quoting.
@Suite struct ExportCSVTests {
    static let digest = "sha256:" + String(repeating: "0", count: 64)

    @Test func headerIsMASTsColumnsThenTheLocksAndRowsFollowEveryListingDataset() {
        let shared = LockEntry(path: "jw01/jw01_nis_cal.fits", archive: "mast", dataset: "jw01", uri: "mast:JWST/product/jw01_nis_cal.fits",
                               url: "https://mast.stsci.edu/x", size: 1234, sha256: "ab", level: "2b", suffix: "_cal", instrument: "NIRISS",
                               filters: "CLEAR;F150W", also: ["jw02"])
        let plain = LockEntry(path: "jw01/a_x1d.fits", archive: "mast", dataset: "jw01", uri: "mast:JWST/product/a_x1d.fits", url: "https://mast.stsci.edu/y")
        let csv = CSVExport.render(Lockfile(specDigest: Self.digest, files: [shared, plain]))
        #expect(csv == """
        Dataset,Filename,Product Level,Suffix,Instrument,Filter / Grating,Size,URI,SHA256\r
        jw01,a_x1d.fits,,,,,,mast:JWST/product/a_x1d.fits,\r
        jw01,jw01_nis_cal.fits,2b,_cal,NIRISS,CLEAR;F150W,1234,mast:JWST/product/jw01_nis_cal.fits,ab\r
        jw02,jw01_nis_cal.fits,2b,_cal,NIRISS,CLEAR;F150W,1234,mast:JWST/product/jw01_nis_cal.fits,ab\r

        """)
    }

    @Test(arguments: [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""),
        ("cr\rhere", "\"cr\rhere\""),
        ("", ""),
    ])
    func fieldsAreQuotedOnlyWhenRFC4180AsksForIt(text: String, expected: String) {
        #expect(CSVText.field(text) == expected)
    }

    @Test(arguments: [
        ("ds/a.fits", "a.fits"),
        ("a.fits", "a.fits"),
        ("archive/jw01/2b/deep/name.fits", "name.fits"),
    ])
    func filenameIsTheLastComponentOfTheLockPath(path: String, expected: String) {
        let entry = LockEntry(path: path, archive: "lab", dataset: "ds", uri: "index:lab/ds/x", url: "u")
        #expect(CSVExport.filename(of: entry) == expected)
    }
}
