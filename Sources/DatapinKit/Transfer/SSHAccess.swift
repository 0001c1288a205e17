import CCurl
import DatapinSupport
import Foundation

/// What `sftp://` transfers read from the environment, once per engine: the home folder
/// (`~/.ssh/known_hosts` and the default keys), the login name used when a URL names none, and
/// the SSH agent's socket.
public struct SSHEnvironment: Sendable, Hashable {
    /// `$HOME`; nil when unset (then no host can be checked, and nothing is fetched over SFTP).
    public var home: String?
    /// `$USER`, the login for `sftp://host` URLs without `user@`.
    public var user: String?
    /// `$SSH_AUTH_SOCK`: keys are also offered from this agent when it is set.
    public var agentSocket: String?

    public init(home: String?, user: String?, agentSocket: String?) {
        func value(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        self.home = value(home)
        self.user = value(user)
        self.agentSocket = value(agentSocket)
    }

    /// Read from `environment` (`HOME`, `USER`, `SSH_AUTH_SOCK`).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(home: environment["HOME"], user: environment["USER"], agentSocket: environment["SSH_AUTH_SOCK"])
    }

    /// The key files tried, in order, when the archive names none.
    public static let defaultKeyNames = ["id_ed25519", "id_ecdsa", "id_rsa"]

    /// `~/.ssh/known_hosts`, which every SFTP host is checked against.
    var knownHostsFile: String? { home.map { $0 + "/.ssh/known_hosts" } }

    /// The first of `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` that exists.
    func defaultKeyFile() -> String? {
        guard let home else { return nil }
        return Self.defaultKeyNames.map { "\(home)/.ssh/\($0)" }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// `path` with a leading `~/` (or a lone `~`) replaced by `home`.
    public static func expandingTilde(_ path: String, home: String?) -> String {
        guard let home, path == "~" || path.hasPrefix("~/") else { return path }
        return home + path.dropFirst()
    }
}

/// How one `sftp://` transfer logs in: as whom, with which key file and whether the agent's
/// keys are offered too, and where the host's key is checked.
struct SSHLogin: Hashable {
    /// Set as libcurl's user name when the URL has no `user@` (from `$USER`); nil: the URL's.
    var user: String?
    /// The private key file offered first; nil: only the agent's keys.
    var keyFile: String?
    var useAgent: Bool
    var knownHostsFile: String

    /// The login for `request` under `environment`, or the sentence saying why there can be none.
    /// The request's own key (the archive's `ssh_key:`) is used only when the URL's host may
    /// receive the archive's credentials.
    static func resolve(_ request: TransferRequest, environment: SSHEnvironment) -> Result<SSHLogin, TransferFailure> {
        let shown = HTTPClient.redactingUserInfo(request.url)
        func refuse(_ reason: String) -> Result<SSHLogin, TransferFailure> { .failure(.sourceError(url: shown, reason: reason)) }
        guard let knownHosts = environment.knownHostsFile else {
            return refuse("HOME is not set, so there is no ~/.ssh/known_hosts to check the SSH host against")
        }
        let urlUser = URLComponents(string: request.url)?.user.flatMap { $0.isEmpty ? nil : $0 }
        guard urlUser != nil || environment.user != nil else {
            return refuse("the URL names no SSH user and USER is not set; write the archive's files: as sftp://USER@host")
        }
        let mayUseArchiveKey = URLParts.host(of: request.url).map { request.credentialHosts.contains($0) } ?? false
        var keyFile: String?
        if let named = request.sshKeyFile, mayUseArchiveKey {
            let path = SSHEnvironment.expandingTilde(named, home: environment.home)
            guard FileManager.default.fileExists(atPath: path) else {
                return refuse("the SSH key \(path) that the archive's ssh_key: names does not exist")
            }
            keyFile = path
        } else {
            keyFile = environment.defaultKeyFile()
        }
        let useAgent = environment.agentSocket != nil
        guard keyFile != nil || useAgent else {
            return refuse("there is no SSH key to log in with: no agent (SSH_AUTH_SOCK is not set) and none of ~/.ssh/\(SSHEnvironment.defaultKeyNames.joined(separator: ", ")) exists; start ssh-agent with your key, or name the key file with ssh_key: on the archive")
        }
        return .success(SSHLogin(user: urlUser == nil ? environment.user : nil, keyFile: keyFile, useAgent: useAgent, knownHostsFile: knownHosts))
    }

    /// The sentence for a login the server refused: what was offered, never a secret.
    var refusalReason: String {
        let offered = [keyFile.map { "the key \($0)" }, useAgent ? "the SSH agent's keys" : nil].compactMap { $0 }.joined(separator: " and ")
        return "the SSH server refused the login with \(offered); check that the matching public key is in the account's authorized_keys, or name another key with ssh_key: on the archive"
    }
}

/// A host key an SSH server offered: its type and SHA-256 fingerprint as `ssh-keygen -l` shows
/// them, and the sentences that refuse it.
struct SSHHostKey: Hashable {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
    var type: String
    /// `SHA256:` and the unpadded base64 of the key blob's SHA-256.
    var fingerprint: String

    /// The key in the SSH wire format (`string type, …`), as libssh2 hands it to libcurl.
    init(blob: Data) {
        fingerprint = "SHA256:" + Self.base64(Self.sha256(blob)).replacingOccurrences(of: "=", with: "")
        var type = "unknown"
        if blob.count >= 4 {
            let bytes = [UInt8](blob)
            let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            if length > 0, length <= 64, bytes.count >= 4 + length,
               let name = String(bytes: bytes[4..<(4 + length)], encoding: .ascii), name.allSatisfy({ $0.isLetter || $0.isNumber || "-@.".contains($0) }) {
                type = name
            }
        }
        self.type = type
    }

    private static func sha256(_ data: Data) -> Data {
        let hex = (try? Hasher.hex(.sha256, of: data)) ?? ""
        var bytes = Data(capacity: hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), let byte = UInt8(hex[index..<next], radix: 16) {
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    private static func base64(_ data: Data) -> String { data.base64EncodedString() }

    /// How `ssh` and `ssh-keyscan` write the host: `host`, or `[host]:port` off port 22.
    static func knownHostsName(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// Why the key of `host:port` was refused (`match` as libcurl's check of known_hosts found
    /// it), with what to do.
    func refusal(host: String, port: Int, match: curl_khmatch) -> String {
        let keyscan = port == 22 ? "ssh-keyscan \(host) >> ~/.ssh/known_hosts" : "ssh-keyscan -p \(port) \(host) >> ~/.ssh/known_hosts"
        let name = Self.knownHostsName(host: host, port: port)
        let entry = port == 22 ? "" : " (known_hosts writes this host and port as \(name))"
        if match == CURLKHMATCH_MISMATCH {
            return "the SSH host \(name) offered an \(type) key with the fingerprint \(fingerprint), which is not the key ~/.ssh/known_hosts holds for it: the host's key changed, or someone is in between. Nothing was fetched from it. Ask the facility for the fingerprint of its key; only if it is this one, remove the old entry with `ssh-keygen -R '\(name)'`, add the new one with `\(keyscan)` and run `datapin sync` again"
        }
        return "the SSH host \(name) is not in ~/.ssh/known_hosts, and datapin never trusts an unknown host: it offered an \(type) key with the fingerprint \(fingerprint). Check that fingerprint with the facility; if it matches, trust the host with `\(keyscan)`\(entry) and run `datapin sync` again"
    }
}

extension ActiveTransfer {
    /// libcurl's host-key callback (`CURLOPT_SSH_KEYFUNCTION`), its data being the transfer: a
    /// key that `~/.ssh/known_hosts` holds for the host passes; an unknown host or another key
    /// is refused, and the transfer records why, naming the key's type and fingerprint.
    static let hostKeyCheck: curl_sshkeycallback = { _, _, found, match, context in
        guard match != CURLKHMATCH_OK else { return Int32(CURLKHSTAT_FINE.rawValue) }
        guard let context else { return Int32(CURLKHSTAT_REJECT.rawValue) }
        let transfer = Unmanaged<ActiveTransfer>.fromOpaque(context).takeUnretainedValue()
        var blob = Data()
        if let found = found?.pointee, let key = found.key, found.len > 0 {
            blob = Data(bytes: key, count: found.len)
        }
        let parts = URLComponents(string: transfer.request.url)
        let reason = SSHHostKey(blob: blob).refusal(host: parts?.host ?? "?", port: parts?.port ?? 22, match: match)
        transfer.hostKeyRefusal = reason
        transfer.localFailure = .sourceError(url: transfer.shownURL, reason: reason)
        return Int32(CURLKHSTAT_REJECT.rawValue)
    }
}
