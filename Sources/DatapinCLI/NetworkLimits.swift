import DatapinKit

extension GlobalOptions {
    /// Ends the command with exit 2 when a limit variable (`DATAPIN_STALL_TIMEOUT`,
    /// `DATAPIN_MAX_ANSWER_SIZE`) is set to something unreadable, before any request is sent.
    func checkNetworkLimits() throws {
        do {
            _ = try TransferLimits.fromEnvironment()
        } catch {
            throw console.fail([Diagnostic(.error, "\(error.message); unset it to use the default")], status: .badInput)
        }
    }
}
