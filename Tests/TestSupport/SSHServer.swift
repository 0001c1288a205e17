import Foundation

/// A real OpenSSH server (`/usr/sbin/sshd`) on a free loopback port, for one test: its host key
/// and an authorised user key are generated with `ssh-keygen` in a scratch folder, with its own
/// `sshd_config` (public keys only, `internal-sftp`), run in the foreground and stopped by
/// `stop()`. It serves the machine's files to the user running the tests.
///
/// sshd is started with `posix_spawn`, not `Process`: sshd closes every inherited descriptor at
/// start, Foundation's own among them, and Foundation then waits for it as if it had exited,
/// which stops it noticing any other child's exit.
public final class SSHServer: @unchecked Sendable {
    public static let sshdPath = "/usr/sbin/sshd"

    /// Why the SFTP tests cannot run here, or nil when they can.
    public static var unavailableReason: String? {
        for tool in [sshdPath, "/usr/bin/ssh-keygen", "/usr/bin/ssh-keyscan"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (install openssh-server and openssh-client)"
        }
        return nil
    }

    /// The scratch folder holding the keys, the configuration and the log.
    public let directory: URL
    public let port: Int
    /// The login the server accepts: the user running the tests.
    public let user: String
    /// The user key the server accepts (`id_ed25519` and `id_ed25519.pub` in `directory`).
    public let userKey: URL
    /// The host key's public half, `ssh-ed25519 AAAA…`.
    public let hostPublicKey: String
    /// The host key's fingerprint as `ssh-keygen -l` shows it: `SHA256:…`.
    public let hostFingerprint: String
    private let pid: pid_t
    private let stopped = NSLock()
    private var isStopped = false

    public init() throws {
        directory = try TestEnvironment.makeScratchDirectory("sshd")
        user = Self.currentUser()
        let hostKey = directory.appendingPathComponent("ssh_host_ed25519_key")
        userKey = directory.appendingPathComponent("id_ed25519")
        try Self.generateKey(at: hostKey, comment: "datapin-test-host", in: directory)
        try Self.generateKey(at: userKey, comment: "datapin-test-user", in: directory)
        try FileManager.default.copyItem(at: userKey.appendingPathExtension("pub"), to: directory.appendingPathComponent("authorized_keys"))
        hostPublicKey = try String(contentsOf: hostKey.appendingPathExtension("pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        hostFingerprint = try Self.fingerprint(ofPublicKey: hostKey.appendingPathExtension("pub"), in: directory)
        if getuid() == 0 {
            // sshd run by root separates privileges in this folder, which a container may lack.
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        var started: (pid_t, Int)?
        var lastLog = ""
        for _ in 0..<5 where started == nil {
            let port = try Self.freePort()
            let config = directory.appendingPathComponent("sshd_config")
            try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey.path)
            AuthorizedKeysFile \(directory.appendingPathComponent("authorized_keys").path)
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            PidFile \(directory.appendingPathComponent("sshd.pid").path)
            Subsystem sftp internal-sftp
            LogLevel VERBOSE

            """.write(to: config, atomically: true, encoding: .utf8)
            let log = directory.appendingPathComponent("sshd.log")
            let pid = try Self.spawn([Self.sshdPath, "-D", "-e", "-f", config.path], log: log.path)
            switch Self.waitUntilListening(port: port, pid: pid) {
            case .listening:
                started = (pid, port)
            case .exited:
                lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            case .silent:
                lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                Self.end(pid)
            }
        }
        guard let (pid, port) = started else {
            throw SSHServerError.didNotStart(log: lastLog)
        }
        self.pid = pid
        self.port = port
    }

    /// The line `ssh-keyscan -p PORT 127.0.0.1` writes for this server into `known_hosts`.
    public var knownHostsLine: String { "[127.0.0.1]:\(port) \(hostPublicKey)" }

    /// What sshd logged so far (logins accepted and refused).
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? ""
    }

    /// A scratch home folder with `.ssh/id_ed25519` (the authorised key) when `withKey`, and
    /// `.ssh/known_hosts` holding `knownHosts` lines when given.
    public func makeHome(withKey: Bool = true, knownHosts: [String]? = nil) throws -> URL {
        let home = try TestEnvironment.makeScratchDirectory("ssh-home")
        let ssh = home.appendingPathComponent(".ssh")
        try FileManager.default.createDirectory(at: ssh, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if withKey { try installUserKey(at: ssh.appendingPathComponent("id_ed25519")) }
        if let knownHosts {
            try (knownHosts.joined(separator: "\n") + "\n").write(to: ssh.appendingPathComponent("known_hosts"), atomically: true, encoding: .utf8)
        }
        return home
    }

    /// Copies the authorised private key (and its public half) to `path`, readable by its owner only.
    public func installUserKey(at path: URL) throws {
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: userKey, to: path)
        try FileManager.default.copyItem(at: userKey.appendingPathExtension("pub"), to: path.appendingPathExtension("pub"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path.path)
    }

    /// Stops sshd (the process this server started, and no other) and waits for it.
    public func stop() {
        let first = stopped.withLock {
            defer { isStopped = true }
            return !isStopped
        }
        if first { Self.end(pid) }
    }

    deinit { stop() }

    /// A host key of another server, as a `known_hosts` line for this one's address: a changed key.
    public func impostorKnownHostsLine() throws -> String {
        let key = directory.appendingPathComponent("impostor_key")
        try Self.generateKey(at: key, comment: "impostor", in: directory)
        let publicKey = try String(contentsOf: key.appendingPathExtension("pub"), encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        return "[127.0.0.1]:\(port) \(publicKey)"
    }

    // MARK: Helpers

    private static func generateKey(at path: URL, comment: String, in directory: URL) throws {
        let result = try ChildProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path.path], in: directory, environment: ["PATH": "/usr/bin:/bin"])
        guard result.status == 0 else { throw SSHServerError.keygenFailed(result.stderr) }
    }

    private static func fingerprint(ofPublicKey path: URL, in directory: URL) throws -> String {
        let result = try ChildProcess.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", path.path], in: directory, environment: ["PATH": "/usr/bin:/bin"])
        guard result.status == 0, let field = result.stdout.split(separator: " ").first(where: { $0.hasPrefix("SHA256:") }) else {
            throw SSHServerError.keygenFailed(result.stderr)
        }
        return String(field)
    }

    private static func currentUser() -> String {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return "root" }
        return String(cString: name)
    }

    /// A loopback port nothing listens on now (another process may still take it before sshd does;
    /// the caller retries).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SSHServerError.noPort }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw SSHServerError.noPort }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw SSHServerError.noPort }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts `arguments` (the program first) with stdin from /dev/null, stdout and stderr
    /// appended to `log`, no other descriptor (a pipe of another test's child held open would
    /// keep that test waiting), and `environment`; returns its process id.
    static func spawn(_ arguments: [String], log: String, environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(in: &actions)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = (["PATH": "/usr/bin:/bin"].merging(environment) { _, new in new }).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // Signals blocked or ignored in the calling thread would stay so in the child, and
        // SIGTERM would not end it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else { throw SSHServerError.didNotStart(log: "posix_spawn failed: \(String(cString: strerror(status)))") }
        return pid
    }

    /// Closes descriptors from 3 up in the child: glibc's `posix_spawn_file_actions_addclosefrom_np`
    /// (2.34 and later; Swift's Glibc module does not show it, so it is looked up), else each
    /// descriptor open now.
    private static func closeInheritedDescriptors(in actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd > 2 && fcntl(fd, F_GETFD) >= 0 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }

    /// Ends a process this file spawned and reaps it.
    static func end(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(5)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return
            }
            usleep(20_000)
        }
    }

    /// What a freshly spawned sshd did.
    private enum StartOutcome {
        case listening
        /// It exited (a port taken meanwhile, a bad configuration) and was reaped.
        case exited
        /// It still runs but accepted no connection within ten seconds.
        case silent
    }

    /// Whether sshd accepts connections on `port` within ten seconds.
    private static func waitUntilListening(port: Int, pid: pid_t) -> StartOutcome {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == 0 else { return .exited }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(fd)
            if connected == 0 { return .listening }
            usleep(50_000)
        }
        return .silent
    }
}

/// Why the test sshd could not be set up.
public enum SSHServerError: Error, CustomStringConvertible {
    case keygenFailed(String)
    case noPort
    case didNotStart(log: String)

    public var description: String {
        switch self {
        case .keygenFailed(let message): return "ssh-keygen failed: \(message)"
        case .noPort: return "no free loopback port could be found"
        case .didNotStart(let log): return "sshd did not start listening: \(log)"
        }
    }
}

/// An `ssh-agent` holding the test user key of an `SSHServer`, on a socket in a scratch folder,
/// run in the foreground and stopped by `stop()`.
public final class SSHAgent: @unchecked Sendable {
    /// For `SSH_AUTH_SOCK`.
    public let socket: String
    private let pid: pid_t
    private let stopped = NSLock()
    private var isStopped = false

    public init(holding server: SSHServer) throws {
        let folder = try TestEnvironment.makeScratchDirectory("ssh-agent")
        socket = folder.appendingPathComponent("agent.sock").path
        pid = try SSHServer.spawn(["/usr/bin/ssh-agent", "-D", "-a", socket], log: folder.appendingPathComponent("agent.log").path)
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket), Date() < deadline { usleep(20_000) }
        let added = try ChildProcess.run("/usr/bin/ssh-add", [server.userKey.path], in: folder, environment: ["PATH": "/usr/bin:/bin", "SSH_AUTH_SOCK": socket])
        guard added.status == 0 else {
            stop()
            throw SSHServerError.keygenFailed("ssh-add: \(added.stderr)")
        }
    }

    /// Stops the agent this object started, and no other process.
    public func stop() {
        let first = stopped.withLock {
            defer { isStopped = true }
            return !isStopped
        }
        if first { SSHServer.end(pid) }
    }

    deinit { stop() }
}
