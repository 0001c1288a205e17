import Foundation
import TestSupport

// `loopback-mast`: the tests' loopback MAST (TestSupport's FakeMAST) as a process of its own,
// for benchmarks/run and for pointing astroquery at by hand. Serves N JWST datasets of a few
// files each, with every answer held back by a delay, prints its base URL on stdout, on SIGUSR1
// the number of requests it has answered so far, and on SIGTERM or SIGINT that number before it exits.
//
//   loopback-mast [--datasets N] [--files-per-dataset K] [--delay-ms MS] [--ids FILE]
//
// With --ids, the dataset ids are written to FILE, one per line, before the URL is printed.

let datasetCount = LoopbackProcess.integer("--datasets", default: 400)
let filesPerDataset = max(1, LoopbackProcess.integer("--files-per-dataset", default: 3))
let delay = LoopbackProcess.integer("--delay-ms", default: 200)
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
    if let file = LoopbackProcess.text("--ids") {
        try datasets.map { $0.id + "\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
    }
    let archive = try FakeMAST(datasets: datasets, searchPageLimit: 5000, answerDelayMilliseconds: delay > 0 ? delay...delay : nil)
    LoopbackProcess.say(archive.baseURL)
    LoopbackProcess.serve(report: { "requests \(archive.requests.count)" }, shutdown: archive.shutdown)
} catch {
    LoopbackProcess.fail("loopback-mast", error)
}
