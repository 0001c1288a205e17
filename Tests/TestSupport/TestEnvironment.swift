import Foundation

/// Paths and processes the tests need: scratch folders, the built `datapin` binary, fixtures.
public enum TestEnvironment {
    /// A new empty folder under the system's temporary directory, removed by the caller.
    public static func makeScratchDirectory(_ label: String = "datapin") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.resolvingSymlinksInPath()
    }

    /// The package's root folder (the one with Package.swift).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The `datapin` executable built beside the test bundle (or `$DATAPIN_BIN`).
    public static let datapinBinary: URL = {
        if let path = ProcessInfo.processInfo.environment["DATAPIN_BIN"] { return URL(fileURLWithPath: path) }
        var candidates: [URL] = []
        for path in [CommandLine.arguments.first, Bundle.main.executablePath].compactMap({ $0 }) {
            var dir = URL(fileURLWithPath: path).deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(dir.appendingPathComponent("datapin"))
                dir.deleteLastPathComponent()
            }
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/datapin"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) && !isDirectory($0) }) else {
            fatalError("the datapin binary was not found; looked at \(candidates.map(\.path))")
        }
        return found
    }()

    private static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }
}

/// What one run of the `datapin` binary did.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs the built `datapin` executable as a user would, in a given folder.
public enum Datapin {
    /// A `datapin arguments…` process for `directory`, with `environment` added to a minimal one.
    private static func makeProcess(_ arguments: [String], in directory: URL, environment: [String: String]) -> Process {
        let process = Process()
        process.executableURL = TestEnvironment.datapinBinary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ["PATH": "/usr/bin:/bin", "HOME": directory.path, "NO_COLOR": "1", "LANG": "C.UTF-8"]
        env.merge(environment) { _, new in new }
        process.environment = env
        return process
    }

    /// Runs `datapin arguments…` in `directory` with `environment` added to a minimal one.
    public static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:], stdin: String? = nil) throws -> CommandResult {
        let process = makeProcess(arguments, in: directory, environment: environment)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = Pipe()
            process.standardInput = input
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        // Both pipes are drained at once, so a chatty stderr cannot block the child.
        let errorReader = PipeReader(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = errorReader.wait()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}

extension Datapin {
    /// Starts `datapin arguments…` in `directory` without waiting; stdout and stderr go to
    /// files in `directory` (`.stdout`, `.stderr`) so that a killed child leaves no pipe behind.
    public static func start(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Process {
        let process = makeProcess(arguments, in: directory, environment: environment)
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent(".stdout").path, contents: nil)
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent(".stderr").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: directory.appendingPathComponent(".stdout"))
        process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent(".stderr"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// Runs bash scripts (the exported download script) as a user would.
public enum Bash {
    /// `bash arguments…` in `directory` with only `environment` beside PATH, HOME and LANG, and
    /// stdin closed (not a terminal); output goes through files, so the script cannot block on a pipe.
    public static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> CommandResult {
        try ChildProcess.run("/usr/bin/env", ["bash"] + arguments, in: directory,
                             environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path, "LANG": "C.UTF-8"].merging(environment) { _, new in new })
    }
}

/// Runs a program to its end with exactly `environment`, stdin closed, and stdout and stderr
/// through files in `directory` (`.script-out`, `.script-err`), so that it cannot block on a pipe.
public enum ChildProcess {
    public static func run(_ executable: String, _ arguments: [String], in directory: URL, environment: [String: String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        let out = directory.appendingPathComponent(".script-out"), err = directory.appendingPathComponent(".script-err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
    }
}

/// A Python check of a loopback archive (scripts/lib/*_check.py) run in a scratch home whose
/// astroquery reads `astroqueryConfig` as its astroquery.cfg when it is imported.
public enum PythonClientCheck {
    public static func run(python: String, script: String, _ arguments: [String], astroqueryConfig: String, environment: [String: String] = [:]) throws -> CommandResult {
        let home = try TestEnvironment.makeScratchDirectory("python-client")
        let config = home.appendingPathComponent("config/astropy")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try astroqueryConfig.write(to: config.appendingPathComponent("astroquery.cfg"), atomically: true, encoding: .utf8)
        let base = ["HOME": home.path, "XDG_CONFIG_HOME": home.appendingPathComponent("config").path,
                    "XDG_CACHE_HOME": home.appendingPathComponent("cache").path, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
        return try ChildProcess.run(python, [TestEnvironment.packageRoot.appendingPathComponent("scripts/lib/\(script)").path] + arguments,
                                    in: home, environment: base.merging(environment) { _, new in new })
    }
}

/// Reads a pipe to its end on a thread of its own.
final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
        thread.start()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
