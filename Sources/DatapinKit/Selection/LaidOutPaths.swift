import DatapinSupport

/// The rule for the paths one lock lays out together under destination (`PathSafety` judges each
/// path alone): with `manifest: true` no path may be, compared without case, a file the download
/// manifest is written to, and unless `case_sensitive: true` no two paths may differ only in case,
/// in a file name or in a folder on the way, since a case-insensitive file system (macOS,
/// Windows) would make them one file. `datapin lock` applies it while it lays out paths, and
/// `datapin sync` to the whole lock before it fetches anything, so a lock made with other
/// settings, or cloned onto another system, never has one file written over another.
public struct LaidOutPaths: Sendable {
    /// The download manifest's files, which `manifest: true` writes at the top of destination.
    public static let manifestHTMLFileName = "MANIFEST.html"
    public static let manifestJSONFileName = "manifest.json"
    public static let manifestFileNames = [manifestHTMLFileName, manifestJSONFileName]

    /// Why a path may not be laid out beside the paths already there.
    public enum Clash: Sendable, Hashable {
        /// `path` is, compared without case, the manifest file `manifest`.
        case manifest(path: String, manifest: String)
        /// `path` and the earlier `earlier` differ only in case: `spelling` (`path` or one of its
        /// folders) and `earlierSpelling` (`earlier` or one of its folders) fold to the same name.
        case caseOnly(path: String, earlier: String, spelling: String, earlierSpelling: String)
    }

    /// Whether the manifest's files are reserved.
    public let manifest: Bool
    /// Whether the destination tells names that differ only in case apart.
    public let caseSensitive: Bool
    /// For every path and folder laid out, case-folded: its spelling and the path that brought it.
    private var spellings: [String: (spelling: String, path: String)] = [:]

    public init(manifest: Bool, caseSensitive: Bool) {
        self.manifest = manifest
        self.caseSensitive = caseSensitive
    }

    /// The manifest file (one of `manifestFileNames`) that a path under destination would be,
    /// compared without case; nil when none.
    public static func manifestFileName(clashingWith path: String) -> String? {
        // No case mapping makes or removes a '/', and the manifest's names have none.
        guard !path.utf8.contains(UInt8(ascii: "/")) else { return nil }
        let folded = PathSafety.caseFolded(path)
        return manifestFileNames.first { PathSafety.caseFolded($0) == folded }
    }

    /// What keeps `path` from joining the paths inserted so far; nil when nothing does.
    public func clash(with path: String) -> Clash? {
        if manifest, let name = Self.manifestFileName(clashingWith: path) {
            return .manifest(path: path, manifest: name)
        }
        guard !caseSensitive else { return nil }
        var prefix = path
        while !prefix.isEmpty {
            if let known = spellings[PathSafety.caseFolded(prefix)] {
                if known.spelling != prefix {
                    return .caseOnly(path: path, earlier: known.path, spelling: prefix, earlierSpelling: known.spelling)
                }
                // Laid out with this spelling, so were its folders (`insert` lays out every
                // folder above a new name), each checked then: nothing above can clash.
                return nil
            }
            prefix = Self.folder(of: prefix)
        }
        return nil
    }

    /// Lays out `path` (call once `clash(with:)` found nothing).
    public mutating func insert(_ path: String) {
        guard !caseSensitive else { return }
        var prefix = path
        while !prefix.isEmpty {
            let key = PathSafety.caseFolded(prefix)
            if spellings[key] != nil { break }
            spellings[key] = (prefix, path)
            prefix = Self.folder(of: prefix)
        }
    }

    /// Every clash among `paths` (every path a lock places a file at), taken in sorted order;
    /// empty when they may all be laid out in one destination with these settings.
    public static func clashes(among paths: [String], manifest: Bool, caseSensitive: Bool) -> [Clash] {
        var laidOut = LaidOutPaths(manifest: manifest, caseSensitive: caseSensitive)
        if !caseSensitive { laidOut.spellings.reserveCapacity(paths.count + paths.count / 4) }
        var clashes: [Clash] = []
        let isSorted = zip(paths, paths.dropFirst()).allSatisfy { $0 <= $1 }
        for path in isSorted ? paths : paths.sorted() {
            if let clash = laidOut.clash(with: path) {
                clashes.append(clash)
            } else {
                laidOut.insert(path)
            }
        }
        return clashes
    }

    /// The folder part of a relative path; empty at the top.
    static func folder(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(path[..<slash])
    }
}
