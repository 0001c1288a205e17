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

let frames = FakeESO.syntheticFrames(count: max(1, LoopbackProcess.integer("--frames", default: 1000)))
let delay = LoopbackProcess.integer("--delay-ms", default: 100)

do {
    if let file = LoopbackProcess.text("--ids") {
        try frames.map { $0.dpID + "\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
    }
    let archive = try FakeESO(FakeESO.Configuration(frames: frames, answerDelayMilliseconds: delay))
    LoopbackProcess.say(archive.baseURL)
    LoopbackProcess.serve(report: {
        let paths = archive.requests.map(\.path)
        func count(_ prefix: String) -> Int { paths.filter { $0.hasPrefix(prefix) }.count }
        return "requests \(paths.count) tap \(count("/tap_obs")) datalink \(count("/datalink")) calselector \(count("/calselector")) files \(count("/dataPortal/file/"))"
    }, shutdown: archive.shutdown)
} catch {
    LoopbackProcess.fail("loopback-eso", error)
}
