import DatapinKit
import Testing

/// One layout table row: a layout, a product, and the path it must give.
struct LayoutCase: Sendable, CustomTestStringConvertible {
    var name: String
    var layout: Layout
    var product: Product
    var path: String
    var testDescription: String { name }
}

@Suite struct LayoutEngineTests {
    typealias S = SelectionSamples

    /// A SciCat file: its dataset is a PID with a `/`, its name has subfolders, it has no mission,
    /// level, suffix or instrument.
    static let scicat = Product(archive: "ess", dataset: "20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3",
                                filename: "raw/scan_001.h5", uri: "scicat:ess/20.500.12269/72fe3ff6-105b-4c7f-b9d0-073b67c90ec3/raw/scan_001.h5",
                                url: "sftp://login.esss.dk/data/raw/scan_001.h5")
    /// An ESO frame: a `:` in its dataset and file name, no `_suffix` in its name.
    static let eso = Product(archive: "eso", dataset: "SPHER.2016-09-26T03:04:09.308", filename: "SPHER.2016-09-26T03:04:09.308.fits",
                             uri: "eso:SPHER.2016-09-26T03:04:09.308", url: "https://dataportal.eso.org/dataPortal/file/SPHER.2016-09-26T03:04:09.308",
                             level: "RAW", instrument: "SPHERE")

    static let cases: [LayoutCase] = [
        LayoutCase(name: "nested", layout: .nested, product: S.cal, path: "\(S.exposure)/\(S.cal.filename)"),
        LayoutCase(name: "nested: '/' in the dataset becomes '_', subfolders of the file name stay", layout: .nested, product: scicat,
                   path: "20.500.12269_72fe3ff6-105b-4c7f-b9d0-073b67c90ec3/raw/scan_001.h5"),
        LayoutCase(name: "nested: ':' in the dataset is kept", layout: .nested, product: eso,
                   path: "SPHER.2016-09-26T03:04:09.308/SPHER.2016-09-26T03:04:09.308.fits"),
        LayoutCase(name: "nested: an empty dataset becomes '_'", layout: .nested, product: product(dataset: "", filename: "a.fits"), path: "_/a.fits"),
        LayoutCase(name: "flat", layout: .flat, product: S.cal, path: S.cal.filename),
        LayoutCase(name: "flat keeps the file name's subfolders", layout: .flat, product: scicat, path: "raw/scan_001.h5"),
        LayoutCase(name: "{archive}", layout: .template("{archive}/{filename}"), product: S.cal, path: "mast/\(S.cal.filename)"),
        LayoutCase(name: "{mission}", layout: .template("{mission}/{filename}"), product: S.cal, path: "jwst/\(S.cal.filename)"),
        LayoutCase(name: "{dataset}", layout: .template("{dataset}/{filename}"), product: S.cal, path: "\(S.exposure)/\(S.cal.filename)"),
        LayoutCase(name: "{dataset_name} is the archive's name for the dataset, '/' made '_'", layout: .template("{dataset_name}/{filename}"),
                   product: named(scicat, "scan 1/calibration"), path: "scan 1_calibration/raw/scan_001.h5"),
        LayoutCase(name: "{dataset_name} without a name is the dataset", layout: .template("{dataset_name}/{filename}"), product: S.cal,
                   path: "\(S.exposure)/\(S.cal.filename)"),
        LayoutCase(name: "{filename} alone is flat", layout: .template("{filename}"), product: S.cal, path: S.cal.filename),
        LayoutCase(name: "{level}", layout: .template("L{level}/{filename}"), product: S.cal, path: "L2b/\(S.cal.filename)"),
        LayoutCase(name: "{suffix} from the product", layout: .template("{suffix}/{filename}"), product: S.cal, path: "_cal/\(S.cal.filename)"),
        LayoutCase(name: "{suffix} derived from the file name", layout: .template("{suffix}/{filename}"), product: S.association,
                   path: "_asn/\(S.association.filename)"),
        LayoutCase(name: "{instrument}", layout: .template("{instrument}/{filename}"), product: S.cal, path: "NIRISS/\(S.cal.filename)"),
        LayoutCase(name: "every placeholder", layout: .template("{archive}/{mission}/{dataset}/{level}/{instrument}/{suffix}/{filename}"),
                   product: S.cal, path: "mast/jwst/\(S.exposure)/2b/NIRISS/_cal/\(S.cal.filename)"),
        LayoutCase(name: "placeholders inside one component with literal text", layout: .template("{archive}-{mission}_{level}/{dataset}.{instrument}/{filename}"),
                   product: S.cal, path: "mast-jwst_2b/\(S.exposure).NIRISS/\(S.cal.filename)"),
        LayoutCase(name: "missing mission, level, instrument, suffix become '_'",
                   layout: .template("{mission}/{level}/{instrument}/{suffix}/{filename}"), product: scicat, path: "_/_/_/_/raw/scan_001.h5"),
        LayoutCase(name: "empty values become '_'", layout: .template("{mission}/{level}/{instrument}/{suffix}/{filename}"),
                   product: product(filename: "a.fits", mission: "", level: "", suffix: "", instrument: ""), path: "_/_/_/_/a.fits"),
        LayoutCase(name: "missing level inside a component becomes '_'", layout: .template("L{level}-{instrument}/{filename}"), product: scicat,
                   path: "L_-_/raw/scan_001.h5"),
        LayoutCase(name: "template: '/' in the dataset becomes '_'", layout: .template("{archive}/{dataset}/{filename}"), product: scicat,
                   path: "ess/20.500.12269_72fe3ff6-105b-4c7f-b9d0-073b67c90ec3/raw/scan_001.h5"),
        LayoutCase(name: "'/' in any other value becomes '_' too", layout: .template("{mission}/{level}/{instrument}/{filename}"),
                   product: product(filename: "a.fits", mission: "hst/acs", level: "2/3", instrument: "NIRCAM/LONG"), path: "hst_acs/2_3/NIRCAM_LONG/a.fits"),
        LayoutCase(name: "':' kept in values", layout: .template("{dataset}/{level}/{filename}"), product: eso,
                   path: "SPHER.2016-09-26T03:04:09.308/RAW/SPHER.2016-09-26T03:04:09.308.fits"),
        LayoutCase(name: "runs of '/' in the template collapse", layout: .template("{archive}//{dataset}///{filename}"), product: S.cal,
                   path: "mast/\(S.exposure)/\(S.cal.filename)"),
        LayoutCase(name: "a value that looks like a placeholder is not expanded again", layout: .template("{dataset}/{filename}"),
                   product: product(dataset: "{filename}", filename: "{archive}.fits"), path: "{filename}/{archive}.fits"),
        LayoutCase(name: "an unknown placeholder is left as written", layout: .template("{nope}/{filename}"), product: S.cal,
                   path: "{nope}/\(S.cal.filename)"),
        LayoutCase(name: "an unclosed brace is left as written", layout: .template("{filename}{dataset"), product: product(filename: "a"),
                   path: "a{dataset"),
    ]

    @Test(arguments: cases)
    func laysOutPaths(_ example: LayoutCase) {
        #expect(LayoutEngine.path(for: example.product, layout: example.layout) == example.path)
    }

    /// A name the archive sent reaches PathSafety unaltered: the layout neither cleans nor hides it.
    @Test(arguments: ["../x", "/etc/passwd", "a//b", "a/", "", "a\u{0}b", "..", "./a"], [Layout.nested, .flat, .template("{archive}/{filename}")])
    func keepsSuspiciousFileNamesForPathSafety(_ filename: String, _ layout: Layout) {
        let path = LayoutEngine.path(for: Self.product(filename: filename), layout: layout)
        #expect(path.hasSuffix(filename))
        #expect(PathSafety.problem(with: path) != nil, "'\(PathSafety.escaped(path))' passed")
    }

    /// Values other than the file name are always one component, so a hostile dataset, mission,
    /// level or instrument never adds, removes or empties a folder level.
    @Test(arguments: ["a/b", "/", "//", "", "a/../b"])
    func valuesAreOneComponent(_ value: String) {
        let hostile = Self.product(dataset: value, filename: "f", mission: value, level: value, suffix: value, instrument: value)
        let path = LayoutEngine.path(for: hostile, layout: .template("{archive}/{mission}/{dataset}/{level}/{instrument}/{suffix}/{filename}"))
        #expect(path.split(separator: "/", omittingEmptySubsequences: false).count == 7, "\(path)")
        #expect(LayoutEngine.path(for: hostile, layout: .nested).split(separator: "/", omittingEmptySubsequences: false).count == 2)
    }

    @Test func templatePlaceholdersAreTheDocumentedOnes() {
        #expect(Layout.placeholders.sorted() == ["archive", "dataset", "dataset_name", "filename", "instrument", "level", "mission", "suffix"])
        let template = Layout.placeholders.map { "{\($0)}" }.joined(separator: "/")
        let path = LayoutEngine.path(for: S.cal, layout: .template(template))
        #expect(!path.contains("{") && !path.contains("}"), "\(path)")
    }

    static func named(_ product: Product, _ name: String) -> Product {
        var named = product
        named.datasetName = name
        return named
    }

    static func product(dataset: String = "ds", filename: String, mission: String? = nil, level: String? = nil, suffix: String? = nil, instrument: String? = nil) -> Product {
        Product(archive: "lab", mission: mission, dataset: dataset, filename: filename, uri: "lab:\(dataset)/\(filename)",
                url: "https://lab.example.org/\(filename)", level: level, suffix: suffix, instrument: instrument)
    }
}
