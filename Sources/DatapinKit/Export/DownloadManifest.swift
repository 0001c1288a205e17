import DatapinSelection
import DatapinSpec
import DatapinSupport
import Foundation

/// MANIFEST.html and manifest.json: for every locked file its URI, local path, access, status and
/// who it was fetched as — the columns and statuses of MAST's download manifest, so what a reviewer
/// knows from MAST reads the same. `sync` writes it into `destination` after a run; `export
/// manifest` renders it from the lock and the local tree. `ManifestBuilder` makes the rows.
public struct DownloadManifest: Sendable, Hashable {
    /// What the manifest says about one path, in MAST's words where MAST has them.
    public enum Status: Sendable, Hashable {
        /// In place and verified against the lock: "OK".
        case ok
        /// Another dataset's listing of a file stored at `folder/file`: "Duplicate of file X in
        /// folder Y", with ", hard-linked here" or ", copied here" when `duplicates: link|copy` put it here.
        case duplicate(file: String, folder: String, placed: DuplicatePolicy)
        /// Exclusive access and no token was available: "skipped: exclusive access, no token".
        case skippedNoToken
        /// The transfer, its verification or its placement failed: "failed: <reason>".
        case failed(String)
        /// Not in the tree and no failure explains why (export only): "missing: <reason>".
        case missing(String)
        /// The tree holds other bytes than the lock says (export only): "modified: <reason>".
        case modified(String)

        static let skippedText = "skipped: exclusive access, no token"

        /// The text of the Status column.
        public var text: String {
            switch self {
            case .ok: return "OK"
            case .duplicate(let file, let folder, let placed):
                let base = "Duplicate of file \(file) in folder \(folder)"
                switch placed {
                case .once: return base
                case .link: return base + ", hard-linked here"
                case .copy: return base + ", copied here"
                }
            case .skippedNoToken: return Self.skippedText
            case .failed(let reason): return "failed: \(reason)"
            case .missing(let reason): return "missing: \(reason)"
            case .modified(let reason): return "modified: \(reason)"
            }
        }

        /// The status a previous manifest recorded, for the statuses worth carrying over
        /// (failures and skips); nil for any other text.
        init?(recorded text: String) {
            if text == Self.skippedText {
                self = .skippedNoToken
            } else if text.hasPrefix("failed: ") {
                self = .failed(String(text.dropFirst("failed: ".count)))
            } else {
                return nil
            }
        }
    }

    /// One row of the manifest.
    public struct Row: Sendable, Hashable {
        public var uri: String
        /// The path under destination.
        public var file: String
        public var access: String
        public var status: Status
        public var user: String
        public var sha256: String?
        public var size: Int64?
        /// What to do about the status, e.g. "set MAST_API_TOKEN" for a skipped file.
        public var detail: String?

        public init(uri: String, file: String, access: String, status: Status, user: String, sha256: String? = nil, size: Int64? = nil, detail: String? = nil) {
            self.uri = uri
            self.file = file
            self.access = access
            self.status = status
            self.user = user
            self.sha256 = sha256
            self.size = size
            self.detail = detail
        }
    }

    /// What a manifest.json already in `destination` recorded for one path.
    public struct RecordedRow: Sendable, Hashable {
        public var uri: String
        public var status: String
        public var user: String
    }

    /// The files the manifest is written to; `LaidOutPaths` reserves them.
    public static let htmlFileName = LaidOutPaths.manifestHTMLFileName
    public static let jsonFileName = LaidOutPaths.manifestJSONFileName

    /// Sorted by file.
    public var rows: [Row]
    /// The lock's spec digest, tying the manifest to the lock it was made from.
    public var specDigest: String

    public init(rows: [Row], specDigest: String) {
        self.rows = rows.sorted { $0.file < $1.file }
        self.specDigest = specDigest
    }

    /// The HTML table MAST users know, self-contained and without scripts.
    public func html() -> String {
        var out = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>datapin download manifest</title>
        <style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px;text-align:left}</style></head>
        <body>
        <h1>Download manifest</h1>
        <p>Written by datapin \(Self.escape(DatapinVersion.current)) from a lock with spec \(Self.escape(specDigest)).</p>
        <table>
        <tr><th>URI</th><th>File</th><th>Access</th><th>Status</th><th>Logged In User</th></tr>

        """
        for row in rows {
            let status = row.detail.map { "\(row.status.text) (\($0))" } ?? row.status.text
            out += "<tr><td>\(Self.escape(row.uri))</td><td>\(Self.escape(row.file))</td><td>\(Self.escape(row.access))</td><td>\(Self.escape(status))</td><td>\(Self.escape(row.user))</td></tr>\n"
        }
        out += "</table>\n</body>\n</html>\n"
        return out
    }

    /// The same rows as JSON, for tools: `{"datapin", "spec", "files": [{"access", "detail",
    /// "file", "sha256", "size", "status", "uri", "user"}]}`, keys sorted, one file per line;
    /// `status` is the Status column's text.
    public func json() -> String {
        var out = "{\n  \"datapin\": \(JSONString.quoted(DatapinVersion.current)),\n  \"spec\": \(JSONString.quoted(specDigest)),\n  \"files\": ["
        for (index, row) in rows.enumerated() {
            out += index == 0 ? "\n    {" : ",\n    {"
            out += "\"access\": \(JSONString.quoted(row.access))"
            if let detail = row.detail { out += ", \"detail\": \(JSONString.quoted(detail))" }
            out += ", \"file\": \(JSONString.quoted(row.file))"
            if let sha256 = row.sha256 { out += ", \"sha256\": \(JSONString.quoted(sha256))" }
            if let size = row.size { out += ", \"size\": \(size)" }
            out += ", \"status\": \(JSONString.quoted(row.status.text)), \"uri\": \(JSONString.quoted(row.uri)), \"user\": \(JSONString.quoted(row.user))}"
        }
        out += rows.isEmpty ? "]\n}\n" : "\n  ]\n}\n"
        return out
    }

    /// Writes both files atomically into `destination`; refuses, writing nothing, when a row's
    /// file is one of them (the manifest never replaces a locked file; lock and sync refuse such
    /// a file first, by `LaidOutPaths`).
    public func write(into destination: URL) throws(AtomicFile.WriteError) {
        if let clash = rows.first(where: { LaidOutPaths.manifestFileName(clashingWith: $0.file) != nil }) {
            throw AtomicFile.WriteError(path: destination.appendingPathComponent(clash.file).path, reason: "it is a locked file, which the manifest never replaces; set `manifest: false` or use a nested layout")
        }
        try AtomicFile.write(html(), to: destination.appendingPathComponent(Self.htmlFileName))
        try AtomicFile.write(json(), to: destination.appendingPathComponent(Self.jsonFileName))
    }

    /// The rows of the manifest.json in `destination`, by file; empty when there is none or it
    /// cannot be read (it is a record of the last sync, never needed).
    public static func recordedRows(in destination: URL) -> [String: RecordedRow] {
        guard let data = FileManager.default.contents(atPath: destination.appendingPathComponent(jsonFileName).path) else { return [:] }
        return recordedRows(json: data)
    }

    static func recordedRows(json data: Data) -> [String: RecordedRow] {
        guard let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let files = document["files"] as? [[String: Any]] else { return [:] }
        var rows: [String: RecordedRow] = [:]
        for file in files {
            guard let path = file["file"] as? String, let uri = file["uri"] as? String, let status = file["status"] as? String else { continue }
            rows[path] = RecordedRow(uri: uri, status: status, user: file["user"] as? String ?? "anonymous")
        }
        return rows
    }

    static func escape(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) { return text }
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
