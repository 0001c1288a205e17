/// The exit codes every command uses (DESIGN.md "Command line").
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Done, nothing wrong.
    case ok = 0
    /// A `--check` or `--exit-code` found a difference.
    case different = 1
    /// Bad usage or bad input; nothing was changed.
    case badInput = 2
    /// Some transfers failed after retries.
    case transferFailed = 3
    /// A download did not match its locked size or checksum.
    case integrity = 4
    /// Credentials were missing or refused for some files.
    case credentials = 5
    /// An archive could not be queried; the lockfile is unchanged.
    case archiveUnavailable = 6
    /// Interrupted; running again continues where it stopped.
    case interrupted = 130
}
