import ArgumentParser
import DatapinKit
import Foundation

/// `--shard K/N`, shared by `sync`, `status` and `verify`: one of N disjoint parts of the lock, for
/// the tasks of a job array (Slurm, a Kubernetes Indexed Job) on shared storage.
struct ShardOption: ParsableArguments {
    @Option(name: .customLong("shard"), help: ArgumentHelp(
        "Only this part of the lock: K/N (K from 0 to N-1), auto (a Slurm job array's task) or auto/N (also a Kubernetes Indexed Job's JOB_COMPLETION_INDEX).",
        valueName: "K/N"))
    var text: String?

    /// The shard asked for, with `auto` read from the scheduler's environment; nil without `--shard`.
    func shard(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        guard let text else { return nil }
        do {
            return try Shard.parse(text, environment: environment)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        _ = try shard()
    }
}
