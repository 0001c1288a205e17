import DatapinKit
@testable import DatapinArchives
@testable import DatapinLock
@testable import DatapinSpec
import Foundation

/// What every input must satisfy, parser by parser: the bodies of the libFuzzer targets in
/// `Fuzz/` (this file is linked into `Fuzz/Sources/FuzzSupport`) and of `FuzzRegressionTests`,
/// which feeds them every input the fuzzers found. Each returns the properties that failed
/// (empty when the input was handled: accepted, or refused with a message). A crash or a hang
/// is a failure by itself.
public enum FuzzProperties {
    /// Specs that reach every lazily built part of the loader: each kind's `init` starter, a filter
    /// key written at the top level, and regular expressions (Foundation builds its regex
    /// machinery on first use).
    public static var specWarmUp: [Data] {
        ArchiveRegistry.grammar.kinds.map { Data(StarterSpec.text(for: $0).utf8) } + [Data("version: 1\nsuffixes: [cal]\ndatasets: []\n".utf8), Data("version: 1\nselect: {include: ['^a.*[0-9]+$'], exclude: ['(x|y)?b']}\ndatasets: []\n".utf8)]
    }

    /// The spec loader on any text: a spec, or diagnostics with at least one error; an accepted
    /// spec has a digest.
    public static func spec(_ data: Data) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        do {
            let loaded = try SpecLoader.load(text: text, file: "datapin.yaml", grammar: ArchiveRegistry.grammar)
            return loaded.spec.meaningDigest.hasPrefix("sha256:") ? [] : ["an accepted spec has no digest"]
        } catch {
            for diagnostic in error.diagnostics { _ = diagnostic.rendered() }
            return error.errors.isEmpty ? ["the spec loader threw no error diagnostic"] : []
        }
    }

    /// Both lock readers on any text. The fast path (`CanonicalLockReader`) promises to accept
    /// only what the validating path (libyaml and `LockReader`'s checks) reads the same way, so
    /// whenever it accepts, the validating path must accept too and give an equal `Lockfile`. A
    /// blank first line is invisible to YAML but not the writer's header, so prefixing one sends
    /// the same text down the validating path. Whatever either reader accepts, `LockWriter` must
    /// write as text that reads back unchanged (the round trip of every `datapin lock` and pin),
    /// through the fast path too when it takes the text (it leaves non-ASCII text to libyaml).
    public static func lock(_ data: Data) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        var failed: [String] = []
        let fast = CanonicalLockReader.read(text)
        var validated: Lockfile?
        do {
            validated = try LockReader.read(text: "\n" + text, file: "datapin.lock")
        } catch {
            if error.errors.isEmpty { failed.append("the lock reader threw no error diagnostic") }
        }
        if let fast, validated != fast {
            failed.append("the fast lock reader accepted a lock the validating reader \(validated == nil ? "rejects" : "reads differently")")
        }
        for lock in [fast, validated].compactMap({ $0 }) {
            let rewritten = LockWriter.render(lock)
            if (try? LockReader.read(text: rewritten, file: "datapin.lock")) != lock {
                failed.append("LockWriter's text of an accepted lock does not read back the same")
            }
            if let again = CanonicalLockReader.read(rewritten), again != lock {
                failed.append("the fast lock reader reads LockWriter's text of an accepted lock differently")
            }
        }
        return failed
    }

    static let catalogBases = [
        CatalogBase(location: "http://127.0.0.1:8080/archive/catalog.json", baseDirectory: URL(fileURLWithPath: "/project")),
        CatalogBase(location: "archive/catalog.json", baseDirectory: URL(fileURLWithPath: "/project")),
    ]

    /// The index catalog formats (a JSON catalog, `SHA256SUMS`, a pooch registry, told apart by
    /// content) on any bytes: a catalog, whose every URL is then resolved against a catalog on a
    /// web server and one on disk, or a refusal with a reason.
    public static func indexCatalog(_ data: Data) -> [String] {
        let catalog: IndexCatalog
        do {
            catalog = try IndexCatalog.parse(data, stem: "catalog")
        } catch {
            return error.reason.isEmpty ? ["a catalog was refused without a reason"] : []
        }
        for file in catalog.datasets.flatMap(\.files) {
            for base in catalogBases { _ = base.resolve(file.url ?? file.name) }
        }
        return []
    }

    /// MAST's JSON answers on any bytes, read as every kind of answer datapin asks for: a
    /// Mission Search results page (for each mission's dataset column), a Mission Search
    /// product list and a Portal `Mast.Caom.Products` page (with its status); the rows read are
    /// normalised into products as a listing does.
    public static func mastAnswer(_ data: Data) -> [String] {
        let answer: MASTJSONObject
        do {
            answer = try MASTJSONObject.parse(data)
        } catch {
            return error.reason.isEmpty ? ["an answer was refused without a reason"] : []
        }
        for column in Set(MissionSearch.datasetColumns.values) {
            _ = try? MissionSearch.readSearchPage(answer, column: column)
        }
        _ = try? answer.string("status")
        _ = try? answer.string("msg")
        let baseURL = "https://mast.stsci.edu"
        if let rows = try? MissionSearch.readProducts(answer) {
            for mission in MissionSearch.datasetColumns.keys {
                var products = rows.map { MASTNormalisation.product($0, mission: mission, archive: "mast", baseURL: baseURL) }
                MASTNormalisation.markRecommended(&products, mission: mission)
                _ = MASTNormalisation.uniqueByDatasetAndURI(products)
            }
        }
        if let rows = try? PortalProducts.readRows(answer) {
            var products = rows.map { MASTNormalisation.product($0, archive: "mast", baseURL: baseURL) }
            MASTNormalisation.markRecommended(&products, mission: "hst")
            _ = MASTNormalisation.uniqueByDatasetAndURI(products)
        }
        return []
    }
}
