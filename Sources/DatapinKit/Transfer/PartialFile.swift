import DatapinSupport
import Foundation

/// The file-system steps of a transfer, with POSIX calls so every failure has an errno:
/// folders that refuse symbolic links, a partial file opened without following links,
/// writes in a loop, and the rename into place.
package enum LocalFiles {
    /// Opens (creating it and its folders) the partial file for appending, without following a
    /// symbolic link, and returns the descriptor and the bytes already in it.
    static func openPartial(_ path: String, root: String) throws(TransferFailure) -> (fd: Int32, size: Int64) {
        try makeParentFolders(of: path, root: root, mustBeInside: false)
        let fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TransferFailure.fromErrno(errno, path: path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw TransferFailure.fromErrno(code, path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw TransferFailure.unsafePath(path: path)
        }
        guard lseek(fd, 0, SEEK_END) >= 0 else {
            let code = errno
            close(fd)
            throw TransferFailure.fromErrno(code, path: path)
        }
        return (fd, Int64(info.st_size))
    }

    /// Empties an open partial file and moves its offset to the start.
    static func truncate(_ fd: Int32, path: String) throws(TransferFailure) {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw TransferFailure.fromErrno(errno, path: path)
        }
    }

    /// Renames the (already durable) partial file to `finalPath` inside `root`, creating
    /// folders and refusing symbolic links on the way.
    static func moveIntoPlace(partialPath: String, finalPath: String, root: String) throws(TransferFailure) {
        try makeParentFolders(of: finalPath, root: root, mustBeInside: true)
        guard rename(partialPath, finalPath) == 0 else { throw TransferFailure.fromErrno(errno, path: finalPath) }
    }

    /// Removes a file, ignoring a missing one.
    static func remove(_ path: String) {
        unlink(path)
    }

    /// Creates the folders above `path` and returns the innermost. Below `root`, each existing
    /// folder must be a real folder, not a symbolic link; `root` itself may be a link. A path
    /// outside `root` is refused when `mustBeInside`, otherwise its folders are made plainly.
    @discardableResult
    package static func makeParentFolders(of path: String, root: String, mustBeInside: Bool) throws(TransferFailure) -> String {
        let root = trimmingTrailingSlashes(root)
        guard let relative = relativeComponents(of: path, under: root) else {
            if mustBeInside { throw TransferFailure.unsafePath(path: path) }
            let parent = (path as NSString).deletingLastPathComponent
            try makeFolders(parent.isEmpty ? "." : parent)
            return parent
        }
        guard !relative.isEmpty else { throw TransferFailure.unsafePath(path: path) }
        try makeFolders(root)
        var current = root
        for component in relative.dropLast() {
            current += "/" + component
            try ensureRealFolder(current)
        }
        return current
    }

    /// The components of `path` below `root`, or nil when it is not below it; empty when what is
    /// below `root` is not a path `PathSafety` accepts (partial downloads may be in datapin's
    /// working folder), which makes the path unsafe rather than outside.
    static func relativeComponents(of path: String, under root: String) -> [String]? {
        let prefix = root == "/" ? "/" : root + "/"
        guard path.hasPrefix(prefix) else { return nil }
        let relative = String(path.dropFirst(prefix.count))
        guard PathSafety.problem(with: relative, inWorkingFolders: true) == nil else { return [] }
        return relative.split(separator: "/").map(String.init)
    }

    private static func ensureRealFolder(_ path: String) throws(TransferFailure) {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else { throw TransferFailure.fromErrno(errno, path: path) }
            if mkdir(path, 0o755) == 0 { return }
            guard errno == EEXIST else { throw TransferFailure.fromErrno(errno, path: path) }
            guard lstat(path, &info) == 0 else { throw TransferFailure.fromErrno(errno, path: path) }
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return
        case S_IFLNK: throw TransferFailure.unsafePath(path: path)
        default: throw TransferFailure.fileSystem(path: path, reason: "it is a file, not a folder")
        }
    }

    /// `mkdir -p`, following links (used for the root and for folders outside it).
    private static func makeFolders(_ path: String) throws(TransferFailure) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw TransferFailure.fileSystem(path: path, reason: "it is a file, not a folder") }
            return
        }
        guard errno == ENOENT else { throw TransferFailure.fromErrno(errno, path: path) }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeFolders(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw TransferFailure.fromErrno(errno, path: path) }
    }

    private static func trimmingTrailingSlashes(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
