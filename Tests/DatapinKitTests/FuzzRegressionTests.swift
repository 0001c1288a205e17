import Foundation
import Testing

/// Every input the fuzz targets found a problem with, kept in `Fixtures/fuzz/<target>/` (see
/// Fuzz/README.md), fed again to the target's properties: each must now be handled (accepted,
/// or refused with a message) without a crash, a hang or a failed property.
@Suite struct FuzzRegressionTests {
    /// The fuzz targets by folder name, each with the properties its inputs must keep.
    static let properties: [String: @Sendable (Data) -> [String]] = [
        "spec": FuzzProperties.spec,
        "lock": FuzzProperties.lock,
        "index": FuzzProperties.indexCatalog,
        "mast": FuzzProperties.mastAnswer,
    ]

    static var root: URL? {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent("fuzz")
    }

    /// Every kept finding as "target/name".
    static func findings() -> [String] {
        guard let root else { return [] }
        return properties.keys.sorted().flatMap { target in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(target).path)) ?? []
            return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { "\(target)/\($0)" }
        }
    }

    @Test(arguments: findings())
    func aFindingIsHandled(_ finding: String) throws {
        let target = String(try #require(finding.split(separator: "/").first))
        let check = try #require(Self.properties[target])
        let input = try Data(contentsOf: try #require(Self.root).appendingPathComponent(finding))
        #expect(check(input) == [])
    }

    /// The findings are really read: a missing resource folder would make the test above run
    /// no case at all.
    @Test func theKeptFindingsAreFound() throws {
        let root = try #require(Self.root)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("README.md").path))
        #expect(Self.findings().contains("lock/non-ascii-uri.lock"))
    }
}
