import Foundation

/// Writes a whole file so that readers see either the old content or the new, never a mix:
/// write to a temporary file in the same folder, flush it to disk, then rename over the target.
///
/// A writer killed mid-way leaves no temporary behind where it can help it: on Linux the bytes
/// go to an unnamed file (`O_TMPFILE`) that gets the name `.<name>.<pid>.tmp` only for the
/// instant between linking it and renaming it over the target; elsewhere, or where the file
/// system has no unnamed files, the temporary has that name throughout. Either way, every write
/// first removes the temporaries of its target left by writers that are no longer running.
public enum AtomicFile {
    /// Why an atomic write failed; the target is unchanged.
    public struct WriteError: Error, Sendable {
        public var path: String
        public var reason: String
        /// The errno of the system call that failed, when one did.
        public var code: Int32?

        package init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }

        init(path: String, code: Int32) {
            self.path = path
            self.reason = String(cString: strerror(code))
            self.code = code
        }

        public var message: String { "could not write \(path): \(reason)" }
    }

    public static func write(_ text: String, to url: URL) throws(WriteError) {
        try write(Array(text.utf8), to: url)
    }

    public static func write(_ bytes: [UInt8], to url: URL) throws(WriteError) {
        try replace(url) { descriptor in bytes.withUnsafeBytes { WritingAll.write(descriptor, $0) } }
    }

    /// Puts a copy of the regular file at `source` (not followed when it is a symbolic link) at
    /// `url`, the same way: readers see the old file or the whole copy.
    public static func copy(_ source: String, to url: URL) throws(WriteError) {
        let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw WriteError(path: url.path, reason: "cannot read \(source): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { block.deallocate() }
        try replace(url) { descriptor in
            while true {
                let count = read(input, block.baseAddress, block.count)
                if count < 0, errno == EINTR { continue }
                if count < 0 { return errno }
                if count == 0 { return nil }
                if let code = WritingAll.write(descriptor, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(block)[0..<count])) { return code }
            }
        }
    }

    /// Puts a hard link to `source` at `url`: linked beside the target under the temporary name,
    /// then renamed over it. Fails where the file system cannot link (the caller may copy).
    public static func link(_ source: String, to url: URL) throws(WriteError) {
        let directory = url.deletingLastPathComponent().path
        removeStaleTemporaries(of: url.lastPathComponent, in: directory)
        let temporary = directory + "/" + temporaryName(for: url.lastPathComponent, pid: getpid())
        unlink(temporary)
        guard Foundation.link(source, temporary) == 0 else { throw WriteError(path: url.path, code: errno) }
        guard rename(temporary, url.path) == 0 else {
            let code = errno
            unlink(temporary)
            throw WriteError(path: url.path, code: code)
        }
    }

    /// Writes `url`'s new content through `fill` (which returns an errno on failure) into a
    /// temporary in the same folder, flushes it to disk, and renames it over `url`.
    private static func replace(_ url: URL, fill: (Int32) -> Int32?) throws(WriteError) {
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        removeStaleTemporaries(of: name, in: directory)
        let temporary = directory + "/" + temporaryName(for: name, pid: getpid())
        func failure(_ code: Int32) -> WriteError { WriteError(path: url.path, code: code) }

        let unnamed = openUnnamed(in: directory)
        let descriptor = unnamed ?? open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure(errno) }
        func abandon(_ code: Int32) -> WriteError {
            close(descriptor)
            unlink(temporary)
            return failure(code)
        }
        if let code = fill(descriptor) { throw abandon(code) }
        if fsync(descriptor) != 0 { throw abandon(errno) }
        if unnamed != nil {
            let unnamedPath = "/proc/self/fd/\(descriptor)"
            unlink(temporary)
            // From here to the rename, the only moment the temporary has a name.
            guard linkat(AT_FDCWD, unnamedPath, AT_FDCWD, temporary, AT_SYMLINK_FOLLOW) == 0 else { throw abandon(errno) }
        }
        guard rename(temporary, url.path) == 0 else { throw abandon(errno) }
        // The bytes are on disk already (fsync), so closing afterwards cannot lose them.
        close(descriptor)
    }

    /// The temporary file name a writer with `pid` uses for a target called `name`.
    static func temporaryName(for name: String, pid: pid_t) -> String {
        ".\(name).\(pid).tmp"
    }

    /// Removes `.<name>.<pid>.tmp` files in `directory` whose writer process no longer exists.
    /// A temporary of a running process (or of a pid this process may not signal) is left alone.
    static func removeStaleTemporaries(of name: String, in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let prefix = ".\(name).", suffix = ".tmp"
        for candidate in names where candidate.hasPrefix(prefix) && candidate.hasSuffix(suffix) && candidate.count > prefix.count + suffix.count {
            let digits = candidate.dropFirst(prefix.count).dropLast(suffix.count)
            guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let pid = pid_t(digits), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { unlink(directory + "/" + candidate) }
        }
    }

    /// A write-only file in `directory` with no name (removed by the kernel if the writer dies),
    /// or nil where the system or the file system has none.
    private static func openUnnamed(in directory: String) -> Int32? {
        #if os(Linux)
        // O_TMPFILE is `__O_TMPFILE | O_DIRECTORY`, a macro Swift does not import.
        let unnamedFile: Int32 = 0o20000000 | O_DIRECTORY
        // Naming it takes /proc (linkat with AT_EMPTY_PATH needs a privilege).
        guard access("/proc/self/fd", X_OK) == 0 else { return nil }
        let descriptor = open(directory, O_WRONLY | O_CLOEXEC | unnamedFile, 0o644)
        return descriptor >= 0 ? descriptor : nil
        #else
        return nil
        #endif
    }
}
