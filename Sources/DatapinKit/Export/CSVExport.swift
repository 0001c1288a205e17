import DatapinLock
import DatapinSelection
import DatapinSupport
import Foundation

/// `datapin export csv`: the locked selection as MAST's overlay exports it
/// (`Dataset,Filename,Product Level,Suffix,Instrument,Filter / Grating`), then what the lock adds
/// (`Size,URI,SHA256`). One row per dataset that lists a file, so a file shared by two datasets
/// appears under each, as the overlay lists it. RFC 4180 with CRLF line ends; unknown values are empty.
public enum CSVExport {
    /// The header, exactly.
    public static let columns = ["Dataset", "Filename", "Product Level", "Suffix", "Instrument", "Filter / Grating", "Size", "URI", "SHA256"]

    /// The CSV text of `lock`: rows sorted by dataset, then by path.
    public static func render(_ lock: Lockfile) -> String {
        var rows: [(dataset: String, entry: LockEntry)] = []
        for entry in lock.files {
            for dataset in [entry.dataset] + entry.also { rows.append((dataset, entry)) }
        }
        rows.sort { ($0.dataset, $0.entry.path) < ($1.dataset, $1.entry.path) }
        var out = CSVText.record(columns)
        for (dataset, entry) in rows {
            out += CSVText.record([dataset, filename(of: entry), entry.level ?? "", entry.suffix ?? "", entry.instrument ?? "",
                                   entry.filters ?? "", entry.size.map(String.init) ?? "", entry.uri, entry.sha256 ?? ""])
        }
        return out
    }

    /// The file's name: the last component of its lock path. Every layout keeps the archive's file
    /// name as the path's end (`nested`, `flat`, `{filename}` in a template), and unlike the URI it
    /// is the real name for archives whose URI is an identifier (ESO's dp_id).
    public static func filename(of entry: LockEntry) -> String {
        entry.path.split(separator: "/").last.map(String.init) ?? entry.path
    }
}
