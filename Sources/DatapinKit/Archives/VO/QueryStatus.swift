import Foundation

/// What a TAP or DataLink answer says of itself in its `QUERY_STATUS` INFO.
public enum QueryStatus: Sendable, Hashable {
    /// The answer is complete (also when it carries no status at all).
    case ok
    /// The service stopped at a row limit (MAXREC, or its own cap): rows are missing.
    case overflow
    /// The service failed; the text is its own message (the INFO's content, else its value).
    case error(String)

    /// The status of `document`: the *last* `QUERY_STATUS` INFO, in document order, among those
    /// directly under VOTABLE, in the results RESOURCE and in that RESOURCE's tables; a service
    /// may write OK before the table and OVERFLOW after it. An INFO without a `value` (ESO
    /// writes some) is read from its content.
    public init(of document: VOTableDocument) {
        let results = document.resultsResource
        let candidates = document.infos + (results?.infos ?? []) + (results?.tables.flatMap(\.infos) ?? [])
        guard let last = candidates.filter({ $0.name.caseInsensitiveCompare("QUERY_STATUS") == .orderedSame || $0.id == "QUERY_STATUS" })
            .max(by: { $0.position < $1.position })
        else {
            self = .ok
            return
        }
        let word = (last.value ?? last.content).trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        switch word {
        case "OK": self = .ok
        case "OVERFLOW": self = .overflow
        default:
            let message = last.content.isEmpty ? (last.value ?? "") : last.content
            self = .error(message.isEmpty ? "the service gave no reason" : message)
        }
    }
}

extension VOTableDocument {
    /// The answer's `QUERY_STATUS`.
    public var queryStatus: QueryStatus { QueryStatus(of: self) }
}
