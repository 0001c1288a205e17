import Foundation

/// Why a MAST answer does not have the documented shape; `reason` names the field
/// (`products[3].size is not a number`).
struct MASTShapeError: Error, Sendable, Hashable {
    var reason: String
}

/// One JSON object of a MAST answer, read tolerantly: a missing field or `null` is nil, a
/// number where text is expected is read as its text, anything else of the wrong kind is an error
/// that names the field by its path in the answer.
struct MASTJSONObject {
    let fields: [String: Any]
    /// Where the object sits in the answer, for messages: `products[3]`.
    let path: String

    init(_ value: Any?, path: String) throws(MASTShapeError) {
        guard let fields = value as? [String: Any] else { throw MASTShapeError(reason: "\(path) is not a JSON object") }
        self.fields = fields
        self.path = path
    }

    /// Parses `data` as one JSON object (the whole answer).
    static func parse(_ data: Data) throws(MASTShapeError) -> MASTJSONObject {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw MASTShapeError(reason: "it is not valid JSON")
        }
        guard value is [String: Any] else { throw MASTShapeError(reason: "it is not a JSON object") }
        return try MASTJSONObject(value, path: "the answer")
    }

    private func name(_ key: String) -> String { path == "the answer" ? key : "\(path).\(key)" }

    private func present(_ key: String) -> Any? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        return value
    }

    /// Text, or a number's text (`obsID` is a number in some answers, a string in others).
    func string(_ key: String) throws(MASTShapeError) -> String? {
        guard let value = present(key) else { return nil }
        if let text = value as? String { return text }
        if let number = value as? NSNumber { return number.stringValue }
        throw MASTShapeError(reason: "\(name(key)) is not a string")
    }

    /// Text that must be there and not empty.
    func requiredString(_ key: String) throws(MASTShapeError) -> String {
        guard let text = try string(key)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw MASTShapeError(reason: "\(name(key)) is missing")
        }
        return text
    }

    /// A whole number (sizes, counts); a numeric string is not accepted.
    func integer(_ key: String) throws(MASTShapeError) -> Int64? {
        guard let value = present(key) else { return nil }
        guard let number = value as? NSNumber, !(value is String) else { throw MASTShapeError(reason: "\(name(key)) is not a number") }
        let double = number.doubleValue
        guard double.isFinite, double == double.rounded(), abs(double) < 9.0e15 else {
            throw MASTShapeError(reason: "\(name(key)) is not a whole number")
        }
        return number.int64Value
    }

    /// A nested object, or nil when absent.
    func object(_ key: String) throws(MASTShapeError) -> MASTJSONObject? {
        guard let value = present(key) else { return nil }
        return try MASTJSONObject(value, path: name(key))
    }

    /// A list of objects, or nil when absent.
    func objects(_ key: String) throws(MASTShapeError) -> [MASTJSONObject]? {
        guard let value = present(key) else { return nil }
        guard let list = value as? [Any] else { throw MASTShapeError(reason: "\(name(key)) is not a list") }
        var objects: [MASTJSONObject] = []
        objects.reserveCapacity(list.count)
        for (index, element) in list.enumerated() {
            objects.append(try MASTJSONObject(element, path: "\(name(key))[\(index)]"))
        }
        return objects
    }

    /// True for JSON `true`; nil when absent.
    func bool(_ key: String) throws(MASTShapeError) -> Bool? {
        guard let value = present(key) else { return nil }
        if let flag = value as? Bool { return flag }
        throw MASTShapeError(reason: "\(name(key)) is not true or false")
    }
}
