import CCurl
import DatapinKit
@testable import DatapinTransfer
import Foundation
import Testing
import TestSupport

/// The parts of SFTP transfers that need no server: libcurl's protocol list and the lock-time
/// refusal of a scheme it lacks, the host key's fingerprint as ssh-keygen shows it, and which key
/// and login a transfer uses.
@Suite struct SFTPAccessTests {
    @Test func libcurlListsItsProtocols() {
        #expect(Curl.protocols.isSuperset(of: ["http", "https", "file"]), "\(Curl.protocols)")
        #expect(Curl.version.first?.isNumber == true, "\(Curl.version)")
        #expect(Curl.missingProtocol(for: "https://files.example.org/a") == nil)
        let missing = Curl.missingProtocol(for: "sftp://login.esss.dk", protocols: ["file", "http", "https"], version: "8.0.0")
        #expect(missing == "this build of libcurl (8.0.0) cannot fetch sftp:// URLs (it speaks file, http, https); install a libcurl built with SFTP support (libssh2), such as Debian's libcurl4-openssl-dev, or have the files served over https://")
    }

    @Test func aSciCatArchiveWhoseFilesSchemeLibcurlLacksIsRefusedAtLock() async {
        // Nothing listens on the discard port: the refusal comes before any request.
        let archive = SciCatArchive(name: "ess", baseURL: "http://127.0.0.1:9/api/v3", files: "sftp://ponder@login.esss.dk", transferProtocols: ["file", "http", "https"])
        do {
            _ = try await archive.products(for: DatasetEntry(index: 0, archive: "ess", pids: ["20.500.12269/x"]))
            Issue.record("the archive listed files it cannot fetch")
        } catch {
            guard case .unsupportedRequest(let name, let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(name == "ess")
            #expect(reason.hasPrefix("its files: sftp://login.esss.dk cannot be fetched here: this build of libcurl"), "\(reason)")
            #expect(reason.contains("cannot fetch sftp:// URLs"))
        }
    }

    @Test func theFingerprintIsSSHKeygens() throws {
        let folder = try TestEnvironment.makeScratchDirectory("fingerprint")
        for type in ["ed25519", "ecdsa", "rsa"] {
            let key = folder.appendingPathComponent("key_\(type)")
            let made = try ChildProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-f", key.path], in: folder, environment: ["PATH": "/usr/bin:/bin"])
            try #require(made.status == 0, "\(made.stderr)")
            let fields = try String(contentsOf: key.appendingPathExtension("pub"), encoding: .utf8).split(separator: " ")
            let listed = try ChildProcess.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", key.appendingPathExtension("pub").path], in: folder, environment: ["PATH": "/usr/bin:/bin"])
            let expected = try #require(listed.stdout.split(separator: " ").first { $0.hasPrefix("SHA256:") })
            let hostKey = SSHHostKey(blob: try #require(Data(base64Encoded: String(fields[1]))))
            #expect(hostKey.fingerprint == String(expected), "\(type)")
            #expect(hostKey.type == String(fields[0]), "\(type)")
        }
        #expect(SSHHostKey(blob: Data([0, 0])).type == "unknown")
    }

    @Test func knownHostsNamesAPortOtherThan22InBrackets() {
        #expect(SSHHostKey.knownHostsName(host: "login.esss.dk", port: 22) == "login.esss.dk")
        #expect(SSHHostKey.knownHostsName(host: "127.0.0.1", port: 2222) == "[127.0.0.1]:2222")
        let key = SSHHostKey(blob: Data())
        #expect(key.refusal(host: "login.esss.dk", port: 22, match: CURLKHMATCH_MISSING).contains("`ssh-keyscan login.esss.dk >> ~/.ssh/known_hosts`"))
    }

    @Test func theArchivesKeyGoesOnlyToItsHostsAndTheLoginNameComesFromTheURLOrUSER() throws {
        let home = try TestEnvironment.makeScratchDirectory("ssh-login")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".ssh"), withIntermediateDirectories: true)
        try Data("key".utf8).write(to: home.appendingPathComponent(".ssh/id_ecdsa"))
        try Data("key".utf8).write(to: home.appendingPathComponent(".ssh/id_rsa"))
        try Data("key".utf8).write(to: home.appendingPathComponent("facility"))
        let environment = SSHEnvironment(home: home.path, user: "ponder", agentSocket: nil)
        func request(_ url: String, key: String? = "~/facility") -> TransferRequest {
            TransferRequest(id: 0, url: url, credentialHosts: ["login.esss.dk"], sshKeyFile: key, rootPath: "/d", partialPath: "/d/p", finalPath: "/d/f")
        }
        let own = try SSHLogin.resolve(request("sftp://login.esss.dk/a"), environment: environment).get()
        #expect(own == SSHLogin(user: "ponder", keyFile: home.path + "/facility", useAgent: false, knownHostsFile: home.path + "/.ssh/known_hosts"))
        let other = try SSHLogin.resolve(request("sftp://rincewind@mirror.example.org/a"), environment: environment).get()
        #expect(other.keyFile == home.path + "/.ssh/id_ecdsa", "another host gets the first default key, never the archive's")
        #expect(other.user == nil, "the URL's user stays")
        let agent = try SSHLogin.resolve(request("sftp://login.esss.dk/a", key: nil), environment: SSHEnvironment(home: home.path, user: "ponder", agentSocket: "/tmp/agent.sock")).get()
        #expect(agent.useAgent && agent.keyFile == home.path + "/.ssh/id_ecdsa")

        let nobody = SSHLogin.resolve(request("sftp://login.esss.dk/a"), environment: SSHEnvironment(home: home.path, user: nil, agentSocket: nil))
        #expect(nobody.failureMessage?.contains("names no SSH user and USER is not set") == true)
        let homeless = SSHLogin.resolve(request("sftp://login.esss.dk/a"), environment: SSHEnvironment(home: nil, user: "ponder", agentSocket: nil))
        #expect(homeless.failureMessage?.contains("HOME is not set") == true)
    }
}

extension Result where Failure == TransferFailure {
    fileprivate var failureMessage: String? {
        if case .failure(let failure) = self { return failure.message }
        return nil
    }
}
