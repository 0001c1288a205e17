import Dispatch
import Foundation
import TestSupport

// `loopback-eso`: the tests' loopback ESO (TestSupport's FakeESO) as a process of its own, for
// benchmarks/run and for pointing astroquery.eso at by hand. Serves N synthetic FORS2 frames,
// each with a Raw2Raw association of 17 calibrations that neighbouring frames share, with every
// answer held back by a delay; prints its base URL on stdout, on SIGUSR1 the requests it has
// answered so far ("requests TOTAL tap T datalink D calselector C files F"), and on SIGTERM or
// SIGINT those requests again before it exits.
//
//   loopback-eso [--frames N] [--delay-ms MS] [--ids FILE]
//
// With --ids, the frames' dp_ids are written to FILE, one per line, before the URL is printed.

func value(_ name: String, default fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let number = Int(arguments[index + 1]), number >= 0 else { return fallback }
    return number
}

/// A line on stdout, written at once (stdout is a pipe to the benchmark).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let frames = FakeESO.syntheticFrames(count: max(1, value("--frames", default: 1000)))
let delay = value("--delay-ms", default: 100)

do {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: "--ids"), index + 1 < arguments.count {
        try frames.map { $0.dpID + "\n" }.joined().write(toFile: arguments[index + 1], atomically: true, encoding: .utf8)
    }
    let archive = try FakeESO(FakeESO.Configuration(frames: frames, answerDelayMilliseconds: delay))
    say(archive.baseURL)
    func sayRequests() {
        let paths = archive.requests.map(\.path)
        func count(_ prefix: String) -> Int { paths.filter { $0.hasPrefix(prefix) }.count }
        say("requests \(paths.count) tap \(count("/tap_obs")) datalink \(count("/datalink")) calselector \(count("/calselector")) files \(count("/dataPortal/file/"))")
    }
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGTERM, SIGINT, SIGUSR1] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
        source.setEventHandler {
            sayRequests()
            guard signalNumber != SIGUSR1 else { return }
            archive.shutdown()
            exit(0)
        }
        source.resume()
        sources.append(source)
    }
    dispatchMain()
} catch {
    FileHandle.standardError.write(Data("loopback-eso: could not start: \(error)\n".utf8))
    exit(1)
}
