@testable import DatapinArchives
import Foundation
import Testing

/// The one-pass JSON reader of index catalogs gives what `JSONDecoder` gives: a catalog read
/// by it equals the same catalog behind a byte-order mark, which it leaves to `JSONDecoder`.
@Suite struct IndexCatalogJSONTests {
    static let catalogs: [String] = [
        #"{"datasets":[{"id":"a","files":[{"name":"x.fits","size":16,"sha256":"4CE71592433EECDA507688130567889B767756F5A32C40B7617E363C15F59C7A"}]}]}"#,
        #" { "datasets" : [ { "id" : "d\u00e9j\u00E0 \"vu\"", "instrument": "NIRCam", "files" : [ { "name" : "a\/b\\c\n\t.fits", "size" : 1.0e3, "recommended": true, "guidestar": false, "level": null }, { "name": "é😀", "size": 0, "modified": "" } ] } ] } "#,
        #"{"datasets":[{"id":"n","files":[{"name":"big","size":9007199254740993},{"name":"neg","size":-0},{"name":"exp","size":12E2}]}],"extra":[1,2.5,-3e-2,true,false,null,{},[]]}"#,
    ]

    @Test(arguments: catalogs)
    func readsAsJSONDecoderDoes(text: String) throws {
        let fast = try IndexCatalog.parse(Data(text.utf8), stem: "c")
        let decoded = try IndexCatalog.parse(Data([0xEF, 0xBB, 0xBF]) + Data(text.utf8), stem: "c")
        #expect(fast == decoded)
    }

    @Test(arguments: [
        #"{"datasets":[{"id":"a","files":[{"name":"x","size":true}]}]}"#,
        #"{"datasets":[{"id":"a","files":[{"name":1}]}]}"#,
        #"{"datasets":[{"id":"a","files":[{"name":"x"}]}],}"#,
        #"{"datasets":[{"id":"a","files":[{"name":"x","size":01}]}]}"#,
        #"{"datasets":[{"id":"a","id":"b","files":[]}]}"#,
        #"{"datasets":[{"id":"\ud800","files":[]}]}"#,
        #"{"datasets":[{"id":"a","files":[{"name":"x","size":1e999}]}]}"#,
    ])
    func refusesWhatJSONDecoderRefuses(text: String) {
        let fast = Result { try IndexCatalog.parse(Data(text.utf8), stem: "c") }
        let decoded = Result { try IndexCatalog.parse(Data([0xEF, 0xBB, 0xBF]) + Data(text.utf8), stem: "c") }
        switch (fast, decoded) {
        case (.success(let a), .success(let b)): #expect(a == b)
        case (.failure(let a), .failure(let b)): #expect(a as? IndexCatalog.ParseError == b as? IndexCatalog.ParseError)
        default: Issue.record("the readers disagree on \(text)")
        }
    }
}
