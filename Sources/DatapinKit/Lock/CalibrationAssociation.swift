import DatapinSpec

/// How an archive associated calibrations with one science frame (ESO's calSelector), as
/// recorded on the frame's association-tree file: the mode asked, the mode the archive ran,
/// and whether it called the tree certified and complete. Written in the lock as one flow
/// mapping, `association: {mode: Raw2Raw, executed: Raw2Raw, certified: true, complete: true, files: 50}`,
/// so that a change of certification touches one line.
public struct CalibrationAssociation: Sendable, Hashable {
    /// The mode the spec asked for (`calibrations: raw2raw | raw2master`), never `.none`.
    public var mode: CalibrationMode
    /// The mode the archive ran, as it names it (`Raw2Raw` when Raw2Master fell back), when it says.
    public var executed: String?
    /// The archive calls the calibrations certified (ESO swaps in certified ones later).
    public var certified: Bool
    /// The archive found a calibration of every type the frame needs.
    public var complete: Bool
    /// How many files the tree names besides the frame itself (calibrations and sibling
    /// frames), when known: `outdated` names a tree that gained or lost files.
    public var files: Int?

    public init(mode: CalibrationMode, executed: String? = nil, certified: Bool, complete: Bool, files: Int? = nil) {
        self.mode = mode
        self.executed = executed
        self.certified = certified
        self.complete = complete
        self.files = files
    }

    /// The keys of the lock's mapping, in the order the writer emits them.
    static let keys = ["mode", "executed", "certified", "complete", "files"]
    static let requiredKeys = ["mode", "certified", "complete"]

    /// The names the lock gives the modes, as calSelector spells them.
    static let modeNames: [(CalibrationMode, String)] = [(.raw2raw, "Raw2Raw"), (.raw2master, "Raw2Master")]

    /// `Raw2Raw` or `Raw2Master`.
    public var modeName: String { Self.name(of: mode) }

    static func name(of mode: CalibrationMode) -> String {
        modeNames.first { $0.0 == mode }?.1 ?? mode.rawValue
    }

    /// The mode a lock names (`Raw2Raw`, `Raw2Master`, spelled so); nil for anything else.
    static func mode(named text: String) -> CalibrationMode? {
        modeNames.first { $0.1 == text }?.0
    }

    /// True when the archive ran another mode than the one asked (Raw2Master fell back to Raw2Raw).
    public var fellBack: Bool {
        guard let executed else { return false }
        return executed.lowercased() != modeName.lowercased()
    }

    /// A short description for `ls`: `Raw2Raw certified complete`, `Raw2Master→Raw2Raw uncertified incomplete`.
    public var summary: String {
        let mode = fellBack ? "\(modeName)→\(executed ?? "")" : modeName
        return "\(mode) \(certified ? "certified" : "uncertified") \(complete ? "complete" : "incomplete")"
    }
}

extension UpstreamChange {
    /// How a frame's association as listed now differs from the locked one, key by key. A lock
    /// written before associations were recorded (`locked` nil) is not a change, nor a value
    /// the listing leaves out; a file no longer listed is `notListed` elsewhere.
    public static func associationChanges(_ locked: CalibrationAssociation?, _ listed: CalibrationAssociation?) -> [UpstreamChange] {
        guard let locked, let listed else { return [] }
        var changes: [UpstreamChange] = []
        if locked.mode != listed.mode { changes.append(.association(key: "mode", locked: locked.modeName, listed: listed.modeName)) }
        if let executed = listed.executed, executed != locked.executed { changes.append(.association(key: "executed", locked: locked.executed, listed: executed)) }
        if locked.certified != listed.certified { changes.append(.association(key: "certified", locked: String(locked.certified), listed: String(listed.certified))) }
        if locked.complete != listed.complete { changes.append(.association(key: "complete", locked: String(locked.complete), listed: String(listed.complete))) }
        if let files = listed.files, files != locked.files { changes.append(.association(key: "files", locked: locked.files.map(String.init), listed: String(files))) }
        return changes
    }
}
