import Foundation
import Testing

/// Every input the fuzz targets found a problem with, kept in `Fixtures/fuzz/<target>/` (see
/// Fuzz/README.md), fed again to the target's properties: each must now be handled (accepted,
/// or refused with a message) without a crash, a hang or a failed property.
@Suite struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [String] {
        guard let folder = folder(target),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path)
        else { return [] }
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
    }

    static func folder(_ target: String) -> URL? {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent("fuzz").appendingPathComponent(target)
    }

    static func input(_ target: String, _ name: String) throws -> Data {
        try Data(contentsOf: try #require(folder(target)).appendingPathComponent(name))
    }

    @Test(arguments: inputs("spec"))
    func spec(_ name: String) throws {
        #expect(FuzzProperties.spec(try Self.input("spec", name)) == [])
    }

    @Test(arguments: inputs("lock"))
    func lock(_ name: String) throws {
        #expect(FuzzProperties.lock(try Self.input("lock", name)) == [])
    }

    @Test(arguments: inputs("index"))
    func indexCatalog(_ name: String) throws {
        #expect(FuzzProperties.indexCatalog(try Self.input("index", name)) == [])
    }

    @Test(arguments: inputs("mast"))
    func mastAnswer(_ name: String) throws {
        #expect(FuzzProperties.mastAnswer(try Self.input("mast", name)) == [])
    }
}
