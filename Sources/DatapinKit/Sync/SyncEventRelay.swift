import Foundation

/// Hands sync events from the transfer thread to a consumer on a thread of its own, so that a
/// slow consumer (a terminal, a pipe nobody reads) never holds up a transfer: the transfer thread
/// only appends to a buffer and wakes the relay's thread. Progress events are coalesced: a path
/// has at most one waiting, holding its latest byte count, so the buffer holds a few events per
/// file (started, retries, finished) however many bytes flow and however slow the consumer is.
final class SyncEventRelay: @unchecked Sendable {
    /// One waiting delivery: an event as it came, or the latest progress of a path.
    private enum Item {
        case event(SyncEvent)
        case progress(path: String)
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var latestProgress: [String: (bytes: Int64, total: Int64?)] = [:]
    private var closed = false
    private let finished = DispatchSemaphore(value: 0)
    private let consumer: @Sendable (SyncEvent) -> Void

    /// Starts the relay's thread, which calls `consumer` with every event, in order.
    init(consumer: @escaping @Sendable (SyncEvent) -> Void) {
        self.consumer = consumer
        let thread = Thread { [self] in drain() }
        thread.name = "datapin-sync-events"
        thread.start()
    }

    /// Takes an event; never blocks on the consumer (called on the transfer thread).
    func send(_ event: SyncEvent) {
        condition.lock()
        defer { condition.unlock() }
        if case .transferProgress(let path, let bytes, let total) = event {
            if latestProgress.updateValue((bytes, total), forKey: path) == nil {
                items.append(.progress(path: path))
            }
        } else {
            items.append(.event(event))
        }
        condition.signal()
    }

    /// Waits until the consumer has had every event sent so far, then stops the relay's thread.
    /// Blocking: call it once, from the thread that ran the transfers.
    func finish() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
        finished.wait()
    }

    private func drain() {
        while true {
            condition.lock()
            while items.isEmpty && !closed { condition.wait() }
            if items.isEmpty && closed {
                condition.unlock()
                finished.signal()
                return
            }
            let batch = items
            items.removeAll(keepingCapacity: true)
            var events: [SyncEvent] = []
            events.reserveCapacity(batch.count)
            for item in batch {
                switch item {
                case .event(let event):
                    events.append(event)
                case .progress(let path):
                    if let latest = latestProgress.removeValue(forKey: path) {
                        events.append(.transferProgress(path: path, bytes: latest.bytes, total: latest.total))
                    }
                }
            }
            condition.unlock()
            for event in events { consumer(event) }
        }
    }
}
