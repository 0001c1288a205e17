import Foundation

extension IndexArchive {
    /// The file a catalog at `location` is read from when it is on this machine (a path, relative
    /// to `specDirectory` as `init(name:location:baseDirectory:)` resolves it, or a `file://`
    /// URL); nil for a catalog served over HTTP(S). Sync protects it from `--prune`.
    public static func localCatalogFile(location: String, specDirectory: URL) -> URL? {
        switch CatalogBase(location: location, baseDirectory: specDirectory) {
        case .localPath(let path, _):
            return URL(fileURLWithPath: path)
        case .url(let url):
            guard !CatalogBase.isRemote(url), let parsed = URL(string: url), parsed.isFileURL else { return nil }
            return parsed.standardizedFileURL
        }
    }
}
