import DatapinSpec
import Foundation

/// Turns a product into its local path under `destination` according to the spec's layout.
///
/// - `nested`: `<dataset>/<filename>`; `flat`: `<filename>`.
/// - Templates substitute `{archive} {mission} {dataset} {dataset_name} {filename} {level} {suffix}
///   {instrument}`. `{dataset_name}` is the archive's name for the dataset (SciCat's `datasetName`),
///   or its id where the archive gives no name.
///   `{suffix}` is the product's suffix or, failing that, the one its file name carries (`_cal`).
///   An unknown placeholder is left as written (the spec loader rejects those).
/// - Every value except the file name becomes exactly one path component: a `/` inside it becomes
///   `_` (SciCat PIDs such as `20.500.12269/72fe…`), and a missing or empty value becomes `_`, so a
///   path never gets an empty component from a missing level or instrument. Other characters,
///   such as the `:` of ESO names, are kept.
/// - The file name is kept exactly as the archive gave it, subfolders included, so that a
///   suspicious name (`../x`, `a//b`, `/etc/x`) reaches `PathSafety` unaltered.
/// - Runs of `/` written in the template itself collapse to one.
public enum LayoutEngine {
    /// Relative local path for a product, '/'-separated, before safety checks.
    public static func path(for product: Product, layout: Layout) -> String {
        switch layout {
        case .nested:
            return component(product.dataset) + "/" + product.filename
        case .flat:
            return product.filename
        case .template(let template):
            return expand(template, for: product)
        }
    }

    private static func expand(_ template: String, for product: Product) -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            output += collapsingSlashes(rest[..<open])
            guard let close = rest[open...].firstIndex(of: "}") else {
                rest = rest[open...]
                break
            }
            let name = String(rest[rest.index(after: open)..<close])
            output += value(of: name, for: product) ?? String(rest[open...close])
            rest = rest[rest.index(after: close)...]
        }
        return output + collapsingSlashes(rest)
    }

    private static func value(of placeholder: String, for product: Product) -> String? {
        switch placeholder {
        case "filename": return product.filename
        case "archive": return component(product.archive)
        case "mission": return component(product.mission)
        case "dataset": return component(product.dataset)
        case "dataset_name": return component(product.datasetName ?? product.dataset)
        case "level": return component(product.level)
        case "suffix": return component(product.suffix ?? ProductFilter.suffix(ofFilename: product.filename))
        case "instrument": return component(product.instrument)
        default: return nil
        }
    }

    /// A value made into one non-empty path component.
    private static func component(_ value: String?) -> String {
        guard let value, !value.isEmpty else { return "_" }
        return value.replacingOccurrences(of: "/", with: "_")
    }

    private static func collapsingSlashes(_ text: Substring) -> String {
        var result = ""
        for character in text where !(character == "/" && result.last == "/") {
            result.append(character)
        }
        return result
    }
}
