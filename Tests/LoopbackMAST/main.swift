import Dispatch
import Foundation
import TestSupport

// `loopback-mast`: the tests' loopback MAST (TestSupport's FakeMAST) as a process of its own,
// for benchmarks/run and for pointing astroquery at by hand. Serves N JWST datasets of a few
// files each, with every answer held back by a delay, prints its base URL on stdout, and on
// SIGTERM or SIGINT prints the number of requests it answered and exits.
//
//   loopback-mast [--datasets N] [--files-per-dataset K] [--delay-ms MS] [--ids FILE]
//
// With --ids, the dataset ids are written to FILE, one per line, before the URL is printed.

func value(_ name: String, default fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let number = Int(arguments[index + 1]), number >= 0 else { return fallback }
    return number
}

/// A line on stdout, written at once (stdout is a pipe to the benchmark).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let datasetCount = value("--datasets", default: 400)
let filesPerDataset = max(1, value("--files-per-dataset", default: 3))
let delay = value("--delay-ms", default: 200)
let suffixes: [(suffix: String, category: String)] = [("_uncal", "1b"), ("_rateints", "2a"), ("_calints", "2b"), ("_x1dints", "2b")]

let datasets = (1...max(1, datasetCount)).map { number in
    let id = "jw02734001001_02101_" + String(format: "%05d", number)
    let files = (0..<filesPerDataset).map { index in
        let kind = suffixes[index % suffixes.count]
        return FakeMAST.MissionFile("\(id)-seg\(String(format: "%03d", index / suffixes.count + 1))_nis\(kind.suffix).fits", category: kind.category, fileSuffix: kind.suffix)
    }
    return FakeMAST.MissionDataset(mission: "jwst", id: id, columns: ["program": "02734", "instrument_name": "NIRISS"], instrument: "NIRISS", filters: "CLEAR;GR700XD", files: files)
}

do {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: "--ids"), index + 1 < arguments.count {
        try datasets.map { $0.id + "\n" }.joined().write(toFile: arguments[index + 1], atomically: true, encoding: .utf8)
    }
    let archive = try FakeMAST(datasets: datasets, searchPageLimit: 5000, answerDelayMilliseconds: delay > 0 ? delay...delay : nil)
    say(archive.baseURL)
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
        source.setEventHandler {
            say("requests \(archive.requests.count)")
            archive.shutdown()
            exit(0)
        }
        source.resume()
        sources.append(source)
    }
    dispatchMain()
} catch {
    FileHandle.standardError.write(Data("loopback-mast: could not start: \(error)\n".utf8))
    exit(1)
}
