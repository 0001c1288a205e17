import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A UWS job's execution phase.
public enum UWSPhase: String, Sendable, Hashable {
    case pending = "PENDING", queued = "QUEUED", executing = "EXECUTING", completed = "COMPLETED"
    case error = "ERROR", aborted = "ABORTED", unknown = "UNKNOWN", held = "HELD", suspended = "SUSPENDED", archived = "ARCHIVED"

    /// True while the job may still finish: a poll with `WAIT` blocks in these phases.
    public var isActive: Bool { [.pending, .queued, .executing, .held, .suspended].contains(self) }
}

/// A UWS job document (`<uws:job>`): its id, phase, result links and error summary.
public struct UWSJob: Sendable, Hashable {
    public var jobID: String
    public var phase: UWSPhase
    /// Each `results/result`, in document order.
    public var results: [Result]
    /// `errorSummary/message`, trimmed; nil when absent or empty.
    public var errorMessage: String?

    /// The href of the result named `result` (TAP's), else of the first result.
    public var resultURL: String? {
        (results.first { $0.id == "result" } ?? results.first)?.href
    }

    /// One `results/result` element: its `id` and `xlink:href`.
    public struct Result: Sendable, Hashable {
        public var id: String
        public var href: String
    }

    /// Reads a job document (UWS 1.0 or 1.1; elements are matched by local name).
    public static func parse(_ data: Data) throws(VOTableError) -> UWSJob {
        let reader = UWSJobReader()
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = reader
        _ = parser.parse()
        return try withExtendedLifetime(reader) { () throws(VOTableError) -> UWSJob in try reader.job() }
    }
}

private final class UWSJobReader: NSObject, XMLParserDelegate {
    private var path: [String] = []
    private var text = ""
    private var failure: VOTableError?
    private var root: String?
    private var jobID: String?
    private var phaseText: String?
    private var results: [UWSJob.Result] = []
    private var errorMessage: String?

    func job() throws(VOTableError) -> UWSJob {
        if let failure { throw failure }
        guard let root else { throw .notVOTable(root: nil) }
        guard root == "job" else { throw .badJob("its root element is <\(root)>, not <job>") }
        guard let jobID, !jobID.isEmpty else { throw .badJob("it has no jobId") }
        guard let phaseText, let phase = UWSPhase(rawValue: phaseText.uppercased()) else {
            throw .badJob("its phase '\(phaseText ?? "")' is not a UWS phase")
        }
        return UWSJob(jobID: jobID, phase: phase, results: results, errorMessage: errorMessage.flatMap { $0.isEmpty ? nil : $0 })
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        guard failure == nil else { return }
        failure = .notXML(line: parser.lineNumber, code: (parseError as NSError).code)
        parser.abortParsing()
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?, attributes: [String: String]) {
        if root == nil { root = elementName }
        path.append(elementName)
        text = ""
        if elementName == "result", path.dropLast().last == "results" {
            let href = attributes.first { $0.key == "href" || $0.key.hasSuffix(":href") }?.value ?? ""
            results.append(UWSJob.Result(id: attributes["id"] ?? "", href: href))
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if path.count == 2 {
            switch elementName {
            case "jobId": jobID = value
            case "phase": phaseText = value
            default: break
            }
        }
        if elementName == "message", path.dropLast().last == "errorSummary" { errorMessage = value }
        path.removeLast()
        text = ""
    }
}
