import DatapinSpec
import DatapinTransfer
import Foundation

/// ESO's calSelector (`/calselector/v1/associations`), asked with a POST of many `dp_id`s,
/// `mode=Raw2Raw|Raw2Master` and `responseformat=votable`: per science frame its association
/// tree (the row labelled ASSOCIATION_TREE, which shares the Raw2Master semantics but is the
/// tree itself, never a list to follow), its `#calibration` files and its `eso#sibling_raw`
/// frames, and `#this`'s description saying whether the tree is certified and complete and
/// which mode ran.
struct ESOCalSelector: Sendable {
    static let siblingSemantics = "http://archive.eso.org/rdf/datalink/eso#sibling_raw"

    let url: String
    let connection: VOConnection
    let batchSize: Int

    /// A file of a frame's association.
    struct Member: Sendable, Hashable {
        var dpID: String
        /// Another raw science frame of the association, not a calibration.
        var sibling: Bool
    }

    /// One science frame's association.
    struct Association: Sendable, Hashable {
        var frame: String
        var requestedMode: CalibrationMode
        /// The mode calSelector ran (`Raw2Raw` when Raw2Master fell back), as it wrote it.
        var executedMode: String?
        var certified: Bool
        var complete: Bool
        var treeURL: String
        var treeSize: Int64?
        var members: [Member]

        /// The name ESO's Content-Disposition gives the tree: `<dp_id>_raw2raw.xml`.
        var treeFilename: String { "\(frame)_\(requestedMode.rawValue).xml" }

        /// True when Raw2Master was asked and calSelector ran another mode.
        var fellBack: Bool {
            guard let executedMode else { return false }
            return executedMode.lowercased() != requestedMode.rawValue
        }
    }

    /// The association of each of `frames` that has one, in the order asked. A frame
    /// calSelector has no cascade for (`NotFoundFault`) has none.
    func associations(of frames: [String], mode: CalibrationMode) async throws(ArchiveError) -> [Association] {
        let modeName = mode == .raw2master ? "Raw2Master" : "Raw2Raw"
        var found: [String: Association] = [:]
        for start in stride(from: 0, to: frames.count, by: batchSize) {
            let batch = Array(frames[start..<min(frames.count, start + batchSize)])
            let form = batch.map { ("dp_id", $0) } + [("mode", modeName), ("responseformat", "votable")]
            let document = try await connection.votable(url, method: "POST", form: form, what: "calSelector")
            guard let table = document.resultsTable else { continue }
            for (frame, association) in try read(table, frames: batch, mode: mode) { found[frame] = association }
        }
        return frames.compactMap { found[$0] }
    }

    private func read(_ table: VOTable, frames: [String], mode: CalibrationMode) throws(ArchiveError) -> [String: Association] {
        let shownURL = HTTPClient.redactingUserInfo(url)
        let byDID = Dictionary(frames.map { (ESOFile.publisherDID($0), $0) }, uniquingKeysWith: { first, _ in first })
        var associations: [String: Association] = [:]
        for row in table.rows {
            guard let id = row.string("ID"), let frame = byDID[id] ?? (frames.contains(id) ? id : nil) else {
                throw .malformedAnswer(url: shownURL, reason: "row \(row.index + 1) answers an ID that was not asked")
            }
            if row.string("error_message") != nil { continue }
            guard let access = row.string("access_url") else {
                throw .malformedAnswer(url: shownURL, reason: "row \(row.index + 1) (ID '\(id)') has no access_url")
            }
            var association = associations[frame] ?? Association(frame: frame, requestedMode: mode, executedMode: nil, certified: false, complete: false,
                                                                 treeURL: "", treeSize: nil, members: [])
            let semantics = row.string("semantics") ?? ""
            if semantics == "#this" {
                let attributes = Self.attributes(row.string("description") ?? "")
                association.certified = attributes["certified"]?.lowercased() == "true"
                association.complete = attributes["complete"]?.lowercased() == "true"
                association.executedMode = attributes["mode"].flatMap { $0.isEmpty ? nil : $0 }
            } else if row.string("eso_category") == "ASSOCIATION_TREE" {
                association.treeURL = access
                association.treeSize = row.integer("content_length")
            } else if semantics == "#calibration" || semantics == Self.siblingSemantics, let dpID = ServedFileName.lastPathSegment(of: access), dpID != frame {
                let member = Member(dpID: dpID, sibling: semantics == Self.siblingSemantics)
                if !association.members.contains(member) { association.members.append(member) }
            }
            associations[frame] = association
        }
        for (frame, association) in associations where association.treeURL.isEmpty {
            throw .malformedAnswer(url: shownURL, reason: "the association of '\(frame)' has no ASSOCIATION_TREE row")
        }
        return associations
    }

    /// `name="value"` pairs of a calSelector `#this` description.
    static func attributes(_ description: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(description)
        while let equals = rest.range(of: "=\"") {
            let name = rest[..<equals.lowerBound].split(separator: " ").last.map(String.init) ?? ""
            let afterQuote = rest[equals.upperBound...]
            guard let close = afterQuote.firstIndex(of: "\"") else { break }
            result[name] = String(afterQuote[..<close])
            rest = afterQuote[afterQuote.index(after: close)...]
        }
        return result
    }
}
