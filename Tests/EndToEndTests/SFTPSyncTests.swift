import DatapinKit
import Foundation
import Testing
import TestSupport

/// `datapin lock` and `sync` of a loopback SciCat dataset whose files a real `sshd` serves over
/// SFTP (`files: sftp://USER@127.0.0.1:PORT`), run with HOME pointed at a scratch home: the tree
/// with its subfolders, verified with SciCat's checksum; the host checked against
/// `~/.ssh/known_hosts` (an unknown or changed key refused, naming its fingerprint); a key
/// named by `ssh_key:`; and an interrupted file resumed where it stopped.
@Suite(.enabled(if: SSHServer.unavailableReason == nil, "the SFTP tests need /usr/sbin/sshd, ssh-keygen and ssh-keyscan (apt install openssh-server)"))
struct SFTPSyncTests {
    static let pid = "20.500.12269/sftp-0001"
    static let folder = "20.500.12269_sftp-0001"
    static let bigSize = 300_000

    /// A dataset whose source folder is in a scratch tree the sshd serves, and that tree.
    struct Served {
        let dataset: FakeSciCat.Dataset
        let root: URL

        func file(_ path: String) -> URL {
            URL(fileURLWithPath: dataset.storagePath(of: dataset.blocks[0].files.first { $0.path == path }!))
        }
    }

    static func served() throws -> Served {
        let root = try TestEnvironment.makeScratchDirectory("sftp-served")
        let big = Data((0..<bigSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })
        let files = [FakeSciCat.File("flux.dat"), FakeSciCat.File("logs/measurement.log"), FakeSciCat.File("raw/run 1.nxs"), FakeSciCat.File("big.bin", bytes: big)]
        let dataset = FakeSciCat.Dataset(pid: pid, datasetName: "SFTP", sourceFolder: root.appendingPathComponent("coda/2024/616254/thaum").path,
                                         blocks: [FakeSciCat.Block(id: "b-sftp-1", chkAlg: "blake2b", files: files)])
        for file in files {
            let target = URL(fileURLWithPath: dataset.storagePath(of: file))
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.bytes.write(to: target)
        }
        return Served(dataset: dataset, root: root)
    }

    /// A project locking the served dataset from `scicat`, its files from `files`, with `extra` archive settings.
    static func project(scicat: FakeSciCat, files: String, extra: String = "") throws -> URL {
        let directory = try TestEnvironment.makeScratchDirectory("sftp-project")
        try """
        version: 1
        destination: data
        archives:
          ess: {type: scicat, url: "\(scicat.v3)", files: "\(files)"\(extra)}
        datasets:
          - archive: ess
            pids: ["\(pid)"]
        """.write(to: directory.appendingPathComponent("datapin.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    static func placed(_ directory: URL, _ path: String) -> Data? {
        FileManager.default.contents(atPath: directory.appendingPathComponent("data/\(folder)/\(path)").path)
    }

    /// The files under the dataset's folder in the destination.
    static func placedFiles(_ directory: URL) -> [String] {
        let data = directory.appendingPathComponent("data/\(folder)")
        let enumerator = FileManager.default.enumerator(at: data, includingPropertiesForKeys: [.isRegularFileKey])
        var found: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { found.append(url.path) }
        }
        return found
    }

    @Test func lockAndSyncPlaceTheDatasetVerifiedAndAWrongByteIsRefused() throws {
        let sshd = try SSHServer()
        defer { sshd.stop() }
        let served = try Self.served()
        let scicat = try FakeSciCat(datasets: [served.dataset])
        defer { scicat.shutdown() }
        let home = try sshd.makeHome(knownHosts: [sshd.knownHostsLine])
        let files = "sftp://\(sshd.user)@127.0.0.1:\(sshd.port)"
        let directory = try Self.project(scicat: scicat, files: files)
        let environment = ["HOME": home.path]

        let lock = try Datapin.run(["lock"], in: directory, environment: environment)
        #expect(lock.status == 0, "\(lock.stderr)")
        let lockText = try String(contentsOf: directory.appendingPathComponent("datapin.lock"), encoding: .utf8)
        #expect(lockText.contains("url: \(files)\(served.dataset.sourceFolder)/logs/measurement.log"), "the login name is kept in the locked URL: \(lockText)")
        #expect(lockText.contains("raw/run%201.nxs"))

        // One byte changed on the server: the download does not match SciCat's blake2b, and
        // only that file is missing from the tree.
        let good = try Data(contentsOf: served.file("raw/run 1.nxs"))
        var flipped = good
        flipped[7] ^= 0x20
        try flipped.write(to: served.file("raw/run 1.nxs"))
        let tampered = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(tampered.status == 4, "\(tampered.stderr)\n\(sshd.log)")
        #expect(tampered.stderr.contains("raw/run 1.nxs: the download's blake2b is"), "\(tampered.stderr)")
        #expect(Self.placed(directory, "raw/run 1.nxs") == nil)
        #expect(Self.placed(directory, "logs/measurement.log") == FakeSciCat.bytes(for: "logs/measurement.log"))

        try good.write(to: served.file("raw/run 1.nxs"))
        let sync = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(sync.status == 0, "\(sync.stderr)\n\(sshd.log)")
        for file in served.dataset.blocks[0].files {
            #expect(Self.placed(directory, file.path) == file.bytes, "\(file.path)")
        }
        #expect(!(sync.stdout + sync.stderr + tampered.stderr).contains("\(sshd.user)@"), "the login name is not repeated in the output")
        #expect(sshd.log.contains("Accepted publickey for \(sshd.user)"))

        let again = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(again.status == 0 && again.stderr.contains("Up to date: 4 files in place"), "\(again.stdout)\(again.stderr)")
    }

    @Test func anUnknownOrChangedHostKeyIsRefusedWithItsFingerprint() throws {
        let sshd = try SSHServer()
        defer { sshd.stop() }
        let served = try Self.served()
        let scicat = try FakeSciCat(datasets: [served.dataset])
        defer { scicat.shutdown() }
        let home = try sshd.makeHome()
        let directory = try Self.project(scicat: scicat, files: "sftp://\(sshd.user)@127.0.0.1:\(sshd.port)")
        let environment = ["HOME": home.path]
        #expect(try Datapin.run(["lock"], in: directory, environment: environment).status == 0)

        let connectionsBefore = sshd.log.components(separatedBy: "Connection closed by").count
        let unknown = try Datapin.run(["sync", "--jobs", "1"], in: directory, environment: environment)
        #expect(unknown.status == 3, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("the SSH host [127.0.0.1]:\(sshd.port) is not in ~/.ssh/known_hosts"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("it offered an ssh-ed25519 key with the fingerprint \(sshd.hostFingerprint)"), "the fingerprint is ssh-keygen's: \(unknown.stderr)")
        #expect(unknown.stderr.contains("`ssh-keyscan -p \(sshd.port) 127.0.0.1 >> ~/.ssh/known_hosts`"), "\(unknown.stderr)")
        #expect(Self.placedFiles(directory).isEmpty, "nothing is placed from an unknown host")
        #expect(!sshd.log.contains("Accepted publickey"), "no login was even tried: \(sshd.log)")
        #expect(sshd.log.components(separatedBy: "Connection closed by").count - connectionsBefore == 1,
                "one refusal is enough: the other files from that host fail without connecting: \(sshd.log)")

        let ssh = home.appendingPathComponent(".ssh/known_hosts")
        try (sshd.impostorKnownHostsLine() + "\n").write(to: ssh, atomically: true, encoding: .utf8)
        let changed = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(changed.status == 3, "\(changed.stderr)")
        #expect(changed.stderr.contains("offered an ssh-ed25519 key with the fingerprint \(sshd.hostFingerprint), which is not the key ~/.ssh/known_hosts holds for it"), "\(changed.stderr)")
        #expect(changed.stderr.contains("ssh-keygen -R '[127.0.0.1]:\(sshd.port)'"))
        #expect(Self.placedFiles(directory).isEmpty)

        // Doing what the message says trusts the host.
        let scan = try ChildProcess.run("/usr/bin/ssh-keyscan", ["-p", "\(sshd.port)", "127.0.0.1"], in: directory, environment: ["PATH": "/usr/bin:/bin"])
        #expect(scan.status == 0, "\(scan.stderr)")
        try scan.stdout.write(to: ssh, atomically: true, encoding: .utf8)
        let trusted = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(Self.placed(directory, "logs/measurement.log") == FakeSciCat.bytes(for: "logs/measurement.log"))
    }

    @Test func anSSHKeyOutsideDotSSHIsUsedForTheArchivesHost() throws {
        let sshd = try SSHServer()
        defer { sshd.stop() }
        let served = try Self.served()
        let scicat = try FakeSciCat(datasets: [served.dataset])
        defer { scicat.shutdown() }
        let home = try sshd.makeHome(withKey: false, knownHosts: [sshd.knownHostsLine])
        try sshd.installUserKey(at: home.appendingPathComponent("keys/facility_key"))
        // No user in the URL: the login is $USER.
        let files = "sftp://127.0.0.1:\(sshd.port)"
        let environment = ["HOME": home.path, "USER": sshd.user]

        let without = try Self.project(scicat: scicat, files: files)
        #expect(try Datapin.run(["lock"], in: without, environment: environment).status == 0)
        let noKey = try Datapin.run(["sync"], in: without, environment: environment)
        #expect(noKey.status == 3, "\(noKey.stderr)")
        #expect(noKey.stderr.contains("there is no SSH key to log in with") && noKey.stderr.contains("ssh_key:"), "\(noKey.stderr)")

        let directory = try Self.project(scicat: scicat, files: files, extra: ", ssh_key: ~/keys/facility_key")
        let lock = try Datapin.run(["lock"], in: directory, environment: environment)
        #expect(lock.status == 0, "\(lock.stderr)")
        let sync = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(sync.status == 0, "\(sync.stderr)\n\(sshd.log)")
        for file in served.dataset.blocks[0].files {
            #expect(Self.placed(directory, file.path) == file.bytes, "\(file.path)")
        }

        let missing = try Self.project(scicat: scicat, files: files, extra: ", ssh_key: keys/absent")
        #expect(try Datapin.run(["lock"], in: missing, environment: environment).status == 0)
        let absent = try Datapin.run(["sync"], in: missing, environment: environment)
        #expect(absent.status == 3)
        #expect(absent.stderr.contains("the SSH key \(missing.path)/keys/absent that the archive's ssh_key: names does not exist"), "a relative ssh_key: is under the spec's folder: \(absent.stderr)")
    }

    @Test func theAgentsKeyLogsInWhenNoKeyFileExists() throws {
        let sshd = try SSHServer()
        defer { sshd.stop() }
        let agent = try SSHAgent(holding: sshd)
        defer { agent.stop() }
        let served = try Self.served()
        let scicat = try FakeSciCat(datasets: [served.dataset])
        defer { scicat.shutdown() }
        let home = try sshd.makeHome(withKey: false, knownHosts: [sshd.knownHostsLine])
        let directory = try Self.project(scicat: scicat, files: "sftp://\(sshd.user)@127.0.0.1:\(sshd.port)")
        let environment = ["HOME": home.path, "SSH_AUTH_SOCK": agent.socket]
        #expect(try Datapin.run(["lock"], in: directory, environment: environment).status == 0)
        let sync = try Datapin.run(["sync"], in: directory, environment: environment)
        #expect(sync.status == 0, "\(sync.stderr)\n\(sshd.log)")
        #expect(Self.placed(directory, "big.bin") == (try Data(contentsOf: served.file("big.bin"))))
    }

    @Test func aPasswordInTheSFTPURLIsRefusedAndNeverRepeated() throws {
        let scicat = try FakeSciCat(datasets: [])
        defer { scicat.shutdown() }
        let directory = try Self.project(scicat: scicat, files: "sftp://ponder:octarine-s3cret@127.0.0.1:22")
        let lock = try Datapin.run(["lock"], in: directory)
        #expect(lock.status == 2, "\(lock.stderr)")
        #expect(lock.stderr.contains("'files' of archive 'ess' has credentials in it (sftp://***@127.0.0.1:22)"), "\(lock.stderr)")
        #expect(!(lock.stdout + lock.stderr).contains("octarine-s3cret"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("datapin.lock").path))
    }

    /// The partial file holds the first bytes of `big.bin`; the server's copy then changes in
    /// exactly those bytes. Only a transfer that resumes after the partial (reading the rest)
    /// yields the locked checksum: one that read the file whole would fail verification.
    @Test func anInterruptedTransferResumesWhereItStopped() throws {
        let sshd = try SSHServer()
        defer { sshd.stop() }
        let served = try Self.served()
        let scicat = try FakeSciCat(datasets: [served.dataset])
        defer { scicat.shutdown() }
        let home = try sshd.makeHome(knownHosts: [sshd.knownHostsLine])
        let directory = try Self.project(scicat: scicat, files: "sftp://\(sshd.user)@127.0.0.1:\(sshd.port)")
        let environment = ["HOME": home.path]
        #expect(try Datapin.run(["lock"], in: directory, environment: environment).status == 0)

        let original = try Data(contentsOf: served.file("big.bin"))
        let kept = 120_000
        let lock = try LockReader.read(contentsOf: directory.appendingPathComponent("datapin.lock").path)
        let entry = try #require(lock.files.first { $0.path.hasSuffix("/big.bin") })
        let tree = SyncTree(destination: directory.appendingPathComponent("data").standardizedFileURL, stateDirectory: directory.appendingPathComponent(".datapin"))
        let partial = tree.partialURL(for: entry)
        try FileManager.default.createDirectory(at: partial.deletingLastPathComponent(), withIntermediateDirectories: true)
        try original.prefix(kept).write(to: partial)
        var changedHead = original
        for index in 0..<kept { changedHead[index] ^= 0xFF }
        try changedHead.write(to: served.file("big.bin"))

        let sync = try Datapin.run(["sync", "--json"], in: directory, environment: environment)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(Self.placed(directory, "big.bin") == original, "the kept bytes and the server's rest make the locked file")
        let events = sync.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let placed = try #require(events.first { $0["event"] as? String == "placed" && ($0["path"] as? String)?.hasSuffix("/big.bin") == true })
        #expect(placed["resumed_from"] as? Int == kept, "\(placed)")
        let others = served.dataset.blocks[0].files.filter { $0.path != "big.bin" }.reduce(0) { $0 + $1.bytes.count }
        #expect(events.last?["bytes"] as? Int == Self.bigSize - kept + others, "only the rest of big.bin was read: \(events.last ?? [:])")
        #expect(!FileManager.default.fileExists(atPath: partial.path))
    }
}
