extension Result where Success: Sendable {
    /// `body`'s value or its typed error, so that concurrent work (a task group's child, an
    /// `async let`) hands back a value and the caller decides in a fixed order what failed.
    ///
    /// Task-group children call this instead of writing `do throws(E) { return (tag, …) } catch
    /// { return (tag, …) }` in their closure: Swift 6.3's optimiser (`-O`) miscompiles that
    /// form, and every child returned the first child's tag (`datapin lock` of the quickstart
    /// kept one dataset of two in a release build).
    package static func of(_ body: () async throws(Failure) -> Success) async -> Result<Success, Failure> {
        do throws(Failure) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }
}
