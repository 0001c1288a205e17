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

/// Resolving a listing's plain relative URLs by appending them to the catalog's folder gives
/// what RFC 3986 resolution through `URL` gives.
@Suite struct CatalogURLResolverTests {
    @Test(arguments: [
        "http://127.0.0.1:8080/noop/catalog.json", "https://host.example.org", "https://host.example.org/", "http://h/a/../b/c.json?token=1#top",
        "http://h/a/b/..", "https://user@h/x/y/catalog.json", "HTTP://H/Dir/cat.json",
    ])
    func appendingAgreesWithURLResolution(base: String) {
        let catalog = CatalogBase.url(base)
        let resolver = CatalogBase.Resolver(catalog)
        for written in ["files/ds0000/f000000.bin", "f.bin", "a/b/c-d_e~f.fits", "a/./b", "a/../b", "../x", "./x", "...", "a//b", "a/", "/abs", "q?x=1", "s p", "%41", "h:x", "https://other/x", ".hidden/x", "x..y/z"] {
            let fast = resolver.resolve(written)
            let slow = catalog.resolve(written)
            #expect(fast?.absolute == slow?.absolute && fast?.lockURL == slow?.lockURL, "\(base) + \(written)")
        }
    }
}
