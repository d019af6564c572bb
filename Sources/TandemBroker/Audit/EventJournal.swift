import Foundation
import NIOPosix
import Synchronization
import TandemAudit
import TandemCore
import TandemStore

/// The one path by which the broker's events reach the store, in the order they were submitted.
///
/// `submit` only queues (no I/O, safe on an event loop or inside the `Broker` actor), so a
/// producer fixes an event's place in the order at the moment it happens; one writer then
/// appends what is queued, in that order, in one transaction per batch, on NIO's thread pool.
/// A session's events are therefore stored in causal order whoever produced them, and nothing
/// waits on a disk flush except the caller who needs the acknowledgement (`stored()`).
public final class EventJournal: Sendable {
    private enum Entry {
        case event(Event, EventReceipt)
        case barrier(EventReceipt)
    }

    private struct State {
        var queue: [Entry] = []
        var writing = false
    }

    private let store: Store
    private let state = Mutex(State())
    /// Each stored event, in order (checkpoint counting).
    private let onAppended: @Sendable ([AuditEvent]) async -> Void
    /// An event that could not be stored, with why.
    private let onFailed: @Sendable (Event, StoreError) async -> Void
    /// At most this many events per transaction.
    static let batchLimit = 256

    public init(store: Store, onAppended: @escaping @Sendable ([AuditEvent]) async -> Void,
                onFailed: @escaping @Sendable (Event, StoreError) async -> Void) {
        self.store = store
        self.onAppended = onAppended
        self.onFailed = onFailed
    }

    /// Queues one event; its place in the log is fixed now.
    @discardableResult
    public func submit(_ event: Event) -> EventReceipt {
        let receipt = EventReceipt()
        enqueue(.event(event, receipt))
        return receipt
    }

    /// Queues one event of the catalogue.
    @discardableResult
    public func submit(_ payload: some EventPayload, time: Date = Date(), ticket: Int?, session: SessionID?, actor: String) -> EventReceipt {
        submit(Event(payload, time: time, ticketID: ticket, sessionID: session?.rawValue, actor: actor))
    }

    /// Returns once everything submitted before it is stored (or has failed).
    public func drain() async {
        let receipt = EventReceipt()
        enqueue(.barrier(receipt))
        _ = await receipt.stored()
    }

    private func enqueue(_ entry: Entry) {
        let start = state.withLock { s -> Bool in
            s.queue.append(entry)
            guard !s.writing else { return false }
            s.writing = true
            return true
        }
        if start { Task { await self.write() } }
    }

    /// The single writer: runs while there is something queued, then stops until the next submit.
    private func write() async {
        while true {
            let batch = state.withLock { s -> [Entry] in
                let n = min(s.queue.count, Self.batchLimit)
                let taken = Array(s.queue.prefix(n))
                s.queue.removeFirst(n)
                if taken.isEmpty { s.writing = false }
                return taken
            }
            if batch.isEmpty { return }
            await store(batch)
        }
    }

    private func store(_ batch: [Entry]) async {
        var events: [Event] = []
        var receipts: [EventReceipt] = []
        for case .event(let e, let r) in batch {
            events.append(e)
            receipts.append(r)
        }
        if !events.isEmpty {
            let store = self.store
            let batch = events
            let result: Result<[AuditEvent], StoreError>
            do {
                result = .success(try await NIOThreadPool.singleton.runIfActive { try store.append(contentsOf: batch) })
            } catch let error as StoreError {
                result = .failure(error)
            } catch {
                result = .failure(.sql("\(error)"))
            }
            switch result {
            case .success(let linked):
                await onAppended(linked)
                for r in receipts { r.resolve(true) }
            case .failure:
                // One bad event must not sink the others queued with it: try each alone.
                for (event, receipt) in zip(events, receipts) {
                    do {
                        let linked = try await NIOThreadPool.singleton.runIfActive { try store.append(event) }
                        await onAppended([linked])
                        receipt.resolve(true)
                    } catch {
                        await onFailed(event, (error as? StoreError) ?? .sql("\(error)"))
                        receipt.resolve(false)
                    }
                }
            }
        }
        for case .barrier(let r) in batch { r.resolve(true) }
    }
}
