import Foundation
import Synchronization
import TandemAudit
import TandemCore
import TandemStore

/// The one path by which the broker's events reach the store, in the order they were submitted.
///
/// `submit` only queues (no I/O, safe on an event loop or inside the `Broker` actor), so a
/// producer fixes an event's place in the order at the moment it happens; one writer then
/// appends what is queued, in that order, in one transaction per run of events, through the
/// `AuditLog` (which links them) to the store (which never runs on an event loop).
/// A session's events are therefore stored in causal order whoever produced them, and nothing
/// waits on a disk flush except the caller who needs the acknowledgement (`stored()`).
public final class EventJournal: Sendable {
    private enum Entry {
        case event(Event, EventReceipt)
        /// A session row's new state: written in the same order as the events around it.
        case state(SessionID, SessionLifecycle.State, endReason: String?)
        case barrier(EventReceipt)
    }

    private struct State {
        var queue: [Entry] = []
        var writing = false
    }

    private let log: AuditLog
    private let state = Mutex(State())
    /// Each stored event, in order (checkpoint counting).
    private let onAppended: @Sendable ([AuditEvent]) async -> Void
    /// An event that could not be stored, with why.
    private let onFailed: @Sendable (Event, StoreError) async -> Void
    /// At most this many entries per batch.
    static let batchLimit = 256

    public init(log: AuditLog, onAppended: @escaping @Sendable ([AuditEvent]) async -> Void,
                onFailed: @escaping @Sendable (Event, StoreError) async -> Void) {
        self.log = log
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
        if Self.refusals.contains(payload.kind) { BrokerMetrics.refusal(payload.kind.rawValue) }
        return submit(Event(payload, time: time, ticketID: ticket, sessionID: session?.rawValue, actor: actor))
    }

    /// Kinds counted in `tandem_refusals_total`.
    static let refusals: Set<EventKind> = [.joinRefused, .permissionDenied, .attachRefused, .channelRefused, .portForwardRefused, .fileNameRefused]

    /// Queues a session row's new state, in order with the session's events.
    public func submitState(_ id: SessionID, _ state: SessionLifecycle.State, endReason: String? = nil) {
        enqueue(.state(id, state, endReason: endReason))
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
            var events: [(Event, EventReceipt)] = []
            for entry in batch {
                switch entry {
                case .event(let e, let r):
                    events.append((e, r))
                case .state(let id, let newState, let reason):
                    await store(events)
                    events = []
                    do {
                        try await log.store.updateSession(id, state: newState, endReason: reason)
                    } catch {
                        // The events say what happened; a stale row is closed at the next start.
                        await onFailed(Event(time: Date(), ticketID: nil, sessionID: id.rawValue, actor: "broker", kind: "session row"), error)
                    }
                case .barrier(let r):
                    await store(events)
                    events = []
                    r.resolve(true)
                }
            }
            await store(events)
        }
    }

    /// Appends consecutive events in one transaction; if that fails, each alone, so one bad event
    /// does not sink the others queued with it.
    private func store(_ events: [(Event, EventReceipt)]) async {
        guard !events.isEmpty else { return }
        do {
            let started = ContinuousClock.now
            let linked = try await log.append(events.map(\.0))
            BrokerMetrics.appendLatency(ContinuousClock.now - started)
            await onAppended(linked)
            for (_, r) in events { r.resolve(true) }
        } catch {
            for (event, receipt) in events {
                do {
                    let linked = try await log.append(event)
                    await onAppended([linked])
                    receipt.resolve(true)
                } catch {
                    await onFailed(event, error)
                    receipt.resolve(false)
                }
            }
        }
    }
}
