import Foundation

/// Why a SciCat answer does not have the documented shape; `reason` names the field by its
/// place in the answer (`origdatablocks[1].dataFileList[3].size is not a number`).
struct SciCatShapeError: Error, Sendable, Hashable {
    var reason: String
}

/// One dataset as SciCat describes it (v3 or v4), with the fields datapin reads; the many
/// others (`scientificMetadata`, `history`, `proposalIds`, …) are ignored.
struct SciCatDataset: Sendable, Hashable {
    var pid: String
    var datasetName: String?
    /// The absolute folder on the facility's storage that the files' paths are relative to.
    var sourceFolder: String
    var size: Int64?
    var numberOfFiles: Int64?
    var updatedAt: String?
    /// The blocks a v4 `include=origdatablocks` answer embeds; nil in a v3 answer.
    var blocks: [SciCatBlock]?
}

/// One origdatablock: a checksum algorithm for its files, and the files.
struct SciCatBlock: Sendable, Hashable {
    var id: String?
    var size: Int64?
    /// As SciCat writes it (`blake2b`, `md5`, `sha2`, …), or nil (PSI writes none).
    var chkAlg: String?
    var files: [SciCatFile]
}

/// One entry of a block's `dataFileList`; `uid`, `gid`, `perm` and `type` are opaque and ignored.
struct SciCatFile: Sendable, Hashable {
    /// Relative to the dataset's `sourceFolder`, or absolute (then it replaces the folder).
    var path: String
    var size: Int64?
    /// When the file was last changed, ISO 8601 as SciCat writes it.
    var time: String?
    var chk: String?
}

/// Reads SciCat's JSON answers tolerantly: a missing field or `null` is nil, unknown fields are
/// ignored, and a field of the wrong kind is an error naming it.
enum SciCatJSON {
    /// The whole answer as JSON; nil for an empty body (v4's public route answers a missing
    /// dataset with 200 and nothing).
    static func parse(_ data: Data) throws(SciCatShapeError) -> Any? {
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw SciCatShapeError(reason: "it is not valid JSON")
        }
    }

    /// A dataset object; `path` names it in messages.
    static func dataset(_ value: Any, path: String = "the dataset") throws(SciCatShapeError) -> SciCatDataset {
        let object = try Object(value, path: path)
        guard let pid = try object.identifier("pid", "_id") else {
            throw SciCatShapeError(reason: "\(path) has no pid")
        }
        let blocks = try object.list("origdatablocks").map { (list) throws(SciCatShapeError) -> [SciCatBlock] in
            var blocks: [SciCatBlock] = []
            for (index, element) in list.enumerated() { blocks.append(try block(element, path: "\(path).origdatablocks[\(index)]")) }
            return blocks
        }
        return SciCatDataset(pid: pid, datasetName: try object.string("datasetName"), sourceFolder: try object.string("sourceFolder") ?? "",
                             size: try object.integer("size"), numberOfFiles: try object.integer("numberOfFiles"),
                             updatedAt: try object.string("updatedAt"), blocks: blocks)
    }

    /// A list of origdatablocks (v3's `/datasets/{pid}/origdatablocks`).
    static func blocks(_ value: Any?) throws(SciCatShapeError) -> [SciCatBlock] {
        guard let list = value as? [Any] else { throw SciCatShapeError(reason: "it is not a list of origdatablocks") }
        var blocks: [SciCatBlock] = []
        for (index, element) in list.enumerated() { blocks.append(try block(element, path: "origdatablocks[\(index)]")) }
        return blocks
    }

    /// The PIDs of a dataset search answer (a list of dataset objects).
    static func pids(_ value: Any?) throws(SciCatShapeError) -> [String] {
        guard let list = value as? [Any] else { throw SciCatShapeError(reason: "it is not a list of datasets") }
        var pids: [String] = []
        for (index, element) in list.enumerated() {
            let object = try Object(element, path: "datasets[\(index)]")
            guard let pid = try object.identifier("pid", "_id") else {
                throw SciCatShapeError(reason: "datasets[\(index)] has no pid")
            }
            pids.append(pid)
        }
        return pids
    }

    private static func block(_ value: Any, path: String) throws(SciCatShapeError) -> SciCatBlock {
        let object = try Object(value, path: path)
        var files: [SciCatFile] = []
        for (index, element) in (try object.list("dataFileList") ?? []).enumerated() {
            let file = try Object(element, path: "\(path).dataFileList[\(index)]")
            guard let filePath = try file.string("path"), !filePath.isEmpty else {
                throw SciCatShapeError(reason: "\(path).dataFileList[\(index)] has no path")
            }
            files.append(SciCatFile(path: filePath, size: try file.integer("size"), time: try file.string("time"), chk: try file.string("chk")))
        }
        let algorithm = try object.string("chkAlg")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return SciCatBlock(id: try object.identifier("_id", "id"), size: try object.integer("size"),
                           chkAlg: algorithm?.isEmpty == false ? algorithm : nil, files: files)
    }

    /// One JSON object and where it sits in the answer.
    private struct Object {
        let fields: [String: Any]
        let path: String

        init(_ value: Any, path: String) throws(SciCatShapeError) {
            guard let fields = value as? [String: Any] else { throw SciCatShapeError(reason: "\(path) is not a JSON object") }
            self.fields = fields
            self.path = path
        }

        private func present(_ key: String) -> Any? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
            return value
        }

        /// Text; an empty string is nil.
        func string(_ key: String) throws(SciCatShapeError) -> String? {
            guard let value = present(key) else { return nil }
            guard let text = value as? String else { throw SciCatShapeError(reason: "\(path).\(key) is not a string") }
            return text.isEmpty ? nil : text
        }

        /// The text under `key`, else under `fallback` (`pid`, else v3's `_id`).
        func identifier(_ key: String, _ fallback: String) throws(SciCatShapeError) -> String? {
            if let text = try string(key) { return text }
            return try string(fallback)
        }

        /// A whole, non-negative number (sizes, counts).
        func integer(_ key: String) throws(SciCatShapeError) -> Int64? {
            guard let value = present(key) else { return nil }
            guard let number = value as? NSNumber, !(value is String) else { throw SciCatShapeError(reason: "\(path).\(key) is not a number") }
            let double = number.doubleValue
            guard double.isFinite, double == double.rounded(), double >= 0, double < 9.0e15 else {
                throw SciCatShapeError(reason: "\(path).\(key) is not a whole number of bytes or files")
            }
            return number.int64Value
        }

        func list(_ key: String) throws(SciCatShapeError) -> [Any]? {
            guard let value = present(key) else { return nil }
            guard let list = value as? [Any] else { throw SciCatShapeError(reason: "\(path).\(key) is not a list") }
            return list
        }
    }
}
