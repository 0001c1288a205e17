import Foundation

/// MANIFEST.html and manifest.json written into `destination` after a sync: for every locked
/// file its URI, local path, access, how the sync left it, and who it was fetched as — the
/// columns of MAST's download manifest, so what a reviewer knows from MAST reads the same.
public struct SyncManifest: Sendable, Hashable {
    /// How a sync left one locked file.
    public enum Status: String, Sendable, Hashable {
        /// In place and verified against the lock.
        case complete = "COMPLETE"
        /// Not fetched: exclusive access without a usable token.
        case skipped = "SKIPPED"
        /// The transfer or its verification failed; the final path holds no new bytes.
        case error = "ERROR"
    }

    /// One row of the manifest.
    public struct Row: Sendable, Hashable {
        public var uri: String
        public var file: String
        public var access: String
        public var status: Status
        public var user: String
        public var sha256: String?
        public var size: Int64?
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

    public static let htmlFileName = "MANIFEST.html"
    public static let jsonFileName = "manifest.json"

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
            let status = row.detail.map { "\(row.status.rawValue): \($0)" } ?? row.status.rawValue
            out += "<tr><td>\(Self.escape(row.uri))</td><td>\(Self.escape(row.file))</td><td>\(Self.escape(row.access))</td><td>\(Self.escape(status))</td><td>\(Self.escape(row.user))</td></tr>\n"
        }
        out += "</table>\n</body>\n</html>\n"
        return out
    }

    /// The same rows as JSON, for tools: `{"datapin", "spec", "files": [{"access", "detail",
    /// "file", "sha256", "size", "status", "uri", "user"}]}`, keys sorted, one file per line.
    public func json() -> String {
        var out = "{\n  \"datapin\": \(JSONString.quoted(DatapinVersion.current)),\n  \"spec\": \(JSONString.quoted(specDigest)),\n  \"files\": ["
        for (index, row) in rows.enumerated() {
            out += index == 0 ? "\n    {" : ",\n    {"
            out += "\"access\": \(JSONString.quoted(row.access))"
            if let detail = row.detail { out += ", \"detail\": \(JSONString.quoted(detail))" }
            out += ", \"file\": \(JSONString.quoted(row.file))"
            if let sha256 = row.sha256 { out += ", \"sha256\": \(JSONString.quoted(sha256))" }
            if let size = row.size { out += ", \"size\": \(size)" }
            out += ", \"status\": \"\(row.status.rawValue)\", \"uri\": \(JSONString.quoted(row.uri)), \"user\": \(JSONString.quoted(row.user))}"
        }
        out += rows.isEmpty ? "]\n}\n" : "\n  ]\n}\n"
        return out
    }


    /// Writes both files atomically into `destination`.
    public func write(into destination: URL) throws(AtomicFile.WriteError) {
        try AtomicFile.write(html(), to: destination.appendingPathComponent(Self.htmlFileName))
        try AtomicFile.write(json(), to: destination.appendingPathComponent(Self.jsonFileName))
    }

    static func escape(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 }) { return text }
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
