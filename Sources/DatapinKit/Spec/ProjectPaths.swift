import Foundation

/// Where a project's files are: the spec, the lockfile beside it, and the working state folder.
public struct ProjectPaths: Sendable, Hashable {
    /// The spec file, absolute.
    public var spec: URL
    /// What to call the spec in messages: the path as the user would type it.
    public var specDisplayName: String

    /// `datapin.yaml` in `directory`, or `specFile` (relative to `directory`) when given.
    public init(directory: String?, specFile: String?, currentDirectory: String = FileManager.default.currentDirectoryPath) {
        let base = URL(fileURLWithPath: directory ?? ".", relativeTo: URL(fileURLWithPath: currentDirectory, isDirectory: true)).standardizedFileURL
        let spec = URL(fileURLWithPath: specFile ?? ProjectPaths.specFileName, relativeTo: base).standardizedFileURL
        self.spec = spec
        if specFile == nil, directory == nil {
            specDisplayName = ProjectPaths.specFileName
        } else {
            let cwd = URL(fileURLWithPath: currentDirectory, isDirectory: true).standardizedFileURL.path
            specDisplayName = spec.path.hasPrefix(cwd + "/") ? String(spec.path.dropFirst(cwd.count + 1)) : spec.path
        }
    }

    public static let specFileName = "datapin.yaml"
    public static let lockFileName = "datapin.lock"

    /// The folder the spec is in; relative paths in the spec are relative to it.
    public var directory: URL { spec.deletingLastPathComponent() }
    /// `datapin.lock` beside the spec.
    public var lock: URL { directory.appendingPathComponent(Self.lockFileName) }
    /// What to call the lockfile in messages.
    public var lockDisplayName: String {
        let folder = (specDisplayName as NSString).deletingLastPathComponent
        return folder.isEmpty ? Self.lockFileName : folder + "/" + Self.lockFileName
    }
    /// `.datapin/` beside the spec: caches and the sync lock.
    public var stateDirectory: URL { directory.appendingPathComponent(".datapin", isDirectory: true) }
}
