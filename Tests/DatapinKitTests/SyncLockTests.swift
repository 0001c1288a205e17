import Foundation
import Testing
import TestSupport
import DatapinKit
@testable import DatapinSync

@Suite struct SyncLockTests {
    /// Runs `/usr/bin/flock -n <file> true`: 0 when the lock is free, 1 when another holder has it.
    private func tryLockFromAnotherProcess(_ url: URL) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        process.arguments = ["-n", url.path, "true"]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func anotherProcessCannotLockWhileHeld() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let held = try SyncLock.acquire(in: scratch.tree) { _ in Issue.record("a free lock must not wait") }
        let url = scratch.tree.stateDirectory.appendingPathComponent(SyncLock.fileName)
        #expect(try tryLockFromAnotherProcess(url) == 1)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.hasPrefix("pid \(getpid()) on "))
        #expect(text.contains(" since "))
        held.release()
        #expect(try tryLockFromAnotherProcess(url) == 0)
    }

    @Test func secondAcquireSaysWhoHoldsItAndWaits() async throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        let first = try SyncLock.acquire(in: scratch.tree) { _ in }
        let tree = scratch.tree
        let waitedFor = LockedBox<String?>(nil)
        let acquired = LockedBox(false)
        let thread = Thread {
            let second = try? SyncLock.acquire(in: tree) { holder in waitedFor.set(holder) }
            acquired.set(second != nil)
            second?.release()
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(400))
        #expect(!acquired.get(), "the second acquire waits while the first holds the lock")
        #expect(waitedFor.get()?.hasPrefix("pid \(getpid()) on ") == true)
        first.release()
        for _ in 0..<1000 where !acquired.get() {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(acquired.get())
    }

    @Test func deinitReleases() throws {
        let scratch = try SyncScratch()
        defer { scratch.cleanUp() }
        do {
            _ = try SyncLock.acquire(in: scratch.tree) { _ in }
        }
        #expect(try tryLockFromAnotherProcess(scratch.tree.stateDirectory.appendingPathComponent(SyncLock.fileName)) == 0)
    }
}

/// A value shared between a test and a thread it starts.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func set(_ newValue: Value) {
        lock.lock()
        defer { lock.unlock() }
        value = newValue
    }
}
