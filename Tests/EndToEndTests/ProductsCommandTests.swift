import Foundation
import Testing
import TestSupport

/// `datapin products`: every product the spec's datasets have, selected or with the key that
/// leaves it out, asked of the archive and writing nothing.
@Suite struct ProductsCommandTests {
    @Test func theQuickstartShowsWhatItSelectsAndWhy() throws {
        let project = try LockCommandTests.quickstartCopy()
        let result = try Datapin.run(["products"], in: project)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("jw02734001001_02101_00001 (8 products, 3 selected)"), "\(lines)")
        #expect(lines.contains("2b _cal science public 2.9 kB jw02734001001_02101_00001-seg001_nis_cal.fits selected"))
        #expect(lines.contains("2a _rate science public 2.9 kB jw02734001001_02101_00001-seg001_nis_rate.fits excluded by suffixes: _rate is not one of _cal, _pool, _x1dints"))
        #expect(lines.contains("2b _cal science public 2.9 kB jw02734001001_02101_00001-seg002_nis_cal.fits excluded by exclude: the name matches '-seg002_'"))
        #expect(lines.last == "11 products in 2 datasets, 5 selected")
        #expect(!FileManager.default.fileExists(atPath: project.appendingPathComponent("datapin.lock").path), "products writes nothing")
    }

    @Test func aLevelsFilterSaysThatAPoolHasNoLevel() throws {
        let project = try LockCommandTests.quickstartCopy()
        let specURL = project.appendingPathComponent("datapin.yaml")
        let spec = try LockCommandTests.read(specURL).replacingOccurrences(of: "  suffixes: [cal, x1dints, pool]", with: "  levels: [2b, 3]")
        try spec.write(to: specURL, atomically: true, encoding: .utf8)
        let result = try Datapin.run(["products", "jw02734001001_02101_00001", "--format", "json"], in: project)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let products = try #require(document["products"] as? [[String: Any]])
        #expect(Set(products.compactMap { $0["dataset"] as? String }) == ["jw02734001001_02101_00001"])
        let pool = try #require(products.first { $0["filename"] as? String == "jw02734_20220712t152522_pool.csv" })
        #expect(pool["selected"] as? Bool == false)
        #expect(pool["excluded_by"] as? String == "excluded by levels: no level given")
        let csv = try Datapin.run(["products", "--format", "csv"], in: project)
        #expect(csv.stdout.hasPrefix("Dataset,Filename,Product Level,Suffix,Type,Access,Size,Recommended,Selection,URI\r\n"))
    }

    @Test func anUnknownDatasetIsAnErrorNamingTheListedOnes() throws {
        let project = try LockCommandTests.quickstartCopy()
        let result = try Datapin.run(["products", "jw9999"], in: project)
        #expect(result.status == 2)
        #expect(result.stderr.contains("no dataset entry of the spec lists 'jw9999'; the datasets listed are jw02734-o002_t002_niriss, jw02734001001_02101_00001"), "\(result.stderr)")
    }
}
