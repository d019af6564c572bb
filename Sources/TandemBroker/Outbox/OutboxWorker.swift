import Crypto
import Foundation
import Logging
import TandemAPI
import TandemAudit
import TandemCore
import TandemHelpdesk
import TandemStore

/// Sends one sink's outbox: per ticket in order, a ticket's waiting events together (at most one
/// post per `batchInterval`), retrying temporary failures with backoff and jitter, giving up on
/// a refusal, and asking the helpdesk before re-sending a post whose answer was lost. Each sink
/// has its own worker, so a helpdesk that is slow or down holds back only its own tickets.
///
/// The rows are the truth: a post is marked `sending` with its idempotency key before it leaves,
/// so a broker killed mid-post finds out at its next pass whether the helpdesk holds it.
public actor OutboxWorker {
    let store: any BrokerStore
    let helpdesks: Helpdesks
    /// The sink this worker sends to (`rt`, `redmine`, a webhook's name).
    let sink: String
    let clock: any WallClock
    let logger: Logger
    /// When each ticket last got a post (only those within the batch interval are kept).
    private var lastPost: [String: Date] = [:]
    private var lastCounts = Date.distantPast
    /// Set when the sink failed for now, or the store did: passes before then do nothing.
    private var restUntil: Date?
    /// Tickets taken per pass (the oldest due first); the rest wait for the next.
    static let groupsPerPass = 500
    /// Events in one note at most; the rest go in the next.
    static let eventsPerNote = 200
    /// The longest note: past it the event lines are cut (the audit log has them all); its
    /// checkpoint lines and key are always kept.
    static let maxNoteBytes = 256 * 1024
    /// How long a post that got no answer is left before the helpdesk is asked about it: longer than a call may take.
    static let unsureWait: Double = 35
    /// How long the worker rests when the store fails (it logs once per rest, not four times a second).
    static let storeRest: Double = 5

    public init(store: any BrokerStore, helpdesks: Helpdesks, sink: String, clock: any WallClock = SystemWallClock(), logger: Logger) {
        self.store = store
        self.helpdesks = helpdesks
        self.sink = sink
        self.clock = clock
        self.logger = logger
    }

    /// One pass over what is owed; true when something was sent or settled.
    @discardableResult
    public func pass() async -> Bool {
        let now = clock.now
        if let restUntil, now < restUntil { return false }
        restUntil = nil
        lastPost = lastPost.filter { now.timeIntervalSince($0.value) < helpdesks.batchInterval }
        let due: [Delivery]
        do {
            due = try await store.dueDeliveries(sink: sink, nowMicros: Self.micros(now), groups: Self.groupsPerPass, perGroup: Self.eventsPerNote)
        } catch {
            logger.error("outbox: cannot read the outbox: \(error)")
            restUntil = now.addingTimeInterval(Self.storeRest)
            return false
        }
        await reportCounts()
        var groups: [Int: [Delivery]] = [:]
        var order: [Int] = []
        for row in due {
            if groups[row.chain] == nil { order.append(row.chain) }
            groups[row.chain, default: []].append(row)
        }
        var progressed = false
        for chain in order {
            guard let rows = groups[chain] else { continue }
            switch await send(rows, group: "\(sink)/\(chain)") {
            case .progressed: progressed = true
            case .waiting: continue
            case .unreachable: return progressed  // the helpdesk is down: the other tickets wait for the next pass
            }
        }
        return progressed
    }

    /// What one post came to.
    enum Outcome {
        case progressed
        case waiting
        case unreachable
    }

    /// The next post of one ticket, if it is due.
    private func send(_ rows: [Delivery], group: String) async -> Outcome {
        guard let head = rows.first else { return .waiting }
        let now = clock.now
        if head.nextMicros > Self.micros(now) { return .waiting }
        if let system = HelpdeskSystem(rawValue: head.sink), let sink = helpdesks.noteSinks[system] {
            return await sendNote(rows, sink: sink, group: group, now: now)
        }
        if let webhook = helpdesks.webhooks.first(where: { $0.name == head.sink }) {
            // One message per row, in order, as long as the receiver takes them; a row waiting for its
            // next try holds back the ones after it.
            var progressed = false
            for row in rows {
                guard row.nextMicros <= Self.micros(clock.now) else { break }
                switch await sendWebhook(row, webhook: webhook, now: clock.now) {
                case .progressed: progressed = true
                case .waiting: return progressed ? .progressed : .waiting
                case .unreachable: return .unreachable
                }
            }
            return progressed ? .progressed : .waiting
        }
        return .waiting
    }

    // MARK: Notes (Request Tracker, Redmine)

    private func sendNote(_ rows: [Delivery], sink: any NoteSink, group: String, now: Date) async -> Outcome {
        let head = rows[0]
        let batch: [Delivery]
        var resend = false
        if head.state == .sending, let key = head.batch {
            // A post that may have arrived (its answer never came, or the broker stopped): the same
            // rows under the same key, after asking the helpdesk whether it holds it.
            batch = rows.filter { $0.batch == key }
            resend = true
        } else {
            if let last = lastPost[group], now.timeIntervalSince(last) < helpdesks.batchInterval { return .waiting }
            batch = Array(rows.prefix { $0.batch == nil }.prefix(Self.eventsPerNote))
        }
        guard !batch.isEmpty else { return .waiting }
        let ids = batch.map(\.id)
        let ticketID: Int
        var note: HelpdeskNote
        do {
            guard let ticket = try await store.ticket(id: head.chain), let external = ticket.external,
                  case .external(_, let n)? = TicketReference(external) else {
                try await store.change(deliveries: ids, to: .failed(atMicros: Self.micros(now), error: "ticket \(head.chain) is not linked to \(head.sink)"))
                return .progressed
            }
            ticketID = n
            note = try await self.note(for: batch)
            // A re-send carries the key its first post carried, whatever this version would compute.
            if resend, let key = head.batch { note.key = key }
        } catch {
            logger.error("outbox: cannot prepare deliveries \(ids.first ?? 0)…\(ids.last ?? 0) for \(head.sink): \(error)")
            restUntil = clock.now.addingTimeInterval(Self.storeRest)
            return .unreachable
        }
        do {
            let held: Bool
            do {
                held = resend ? try await sink.holds(key: note.key, ticket: ticketID) : false
            } catch {
                // Not knowing whether it arrived is never a reason to post again, nor to give up: ask later.
                throw HelpdeskError.unreachable("could not ask whether it holds post \(note.key): \(error)")
            }
            if held {
                try await store.change(deliveries: ids, to: .delivered(atMicros: Self.micros(clock.now)))
                logger.notice("outbox: \(head.sink) ticket \(ticketID) already holds post \(note.key); not posted again")
                lastPost[group] = clock.now
                return .progressed
            }
            if !resend { try await store.change(deliveries: ids, to: .sending(batch: note.key)) }
        } catch let error as HelpdeskError {
            return await settle(ids, sink: head.sink, ticket: ticketID, attempts: head.attempts, error: error)
        } catch {
            logger.error("outbox: cannot mark deliveries for \(head.sink): \(error)")
            restUntil = clock.now.addingTimeInterval(Self.storeRest)
            return .unreachable
        }
        do {
            try await sink.post(note, ticket: ticketID)
        } catch {
            return await settle(ids, sink: head.sink, ticket: ticketID, attempts: head.attempts, error: error)
        }
        lastPost[group] = clock.now
        do {
            try await store.change(deliveries: ids, to: .delivered(atMicros: Self.micros(clock.now)))
        } catch {
            // Still `sending`: the next pass asks the helpdesk, finds the key and marks it then.
            logger.error("outbox: posted \(note.key) to \(head.sink) ticket \(ticketID) but could not mark it delivered: \(error)")
        }
        BrokerMetrics.delivery(sink: head.sink, outcome: "delivered", count: ids.count)
        return .progressed
    }

    /// The note carrying these rows: their events' lines, a summary for each session that ended
    /// among them, and each checkpoint's signed line. Its key is fixed by what it carries.
    private func note(for batch: [Delivery]) async throws -> HelpdeskNote {
        let events = try await store.events(ids: batch.compactMap(\.eventID))
        var summaries: [String] = []
        for ended in events where ended.kind == EventKind.ended.rawValue {
            guard let session = ended.session else { continue }
            summaries.append(RecordNotes.summary(session: session, events: try await store.events(sessionID: session)))
        }
        var marks: [String] = []
        for row in batch {
            if let id = row.checkpointID, let c = try await store.checkpoint(id: id) { marks.append(CheckpointLine.format(c)) }
        }
        var body = events.isEmpty ? "" : RecordNotes.body(events: events, summaries: summaries)
        if body.utf8.count > Self.maxNoteBytes {
            let kept = String(decoding: body.utf8.prefix(Self.maxNoteBytes), as: UTF8.self)
            body = kept + "\n… (cut at \(Self.maxNoteBytes / 1024) KiB; every event is in the ticket's audit log: tandem audit log --ticket \(batch[0].chain))"
        }
        if !marks.isEmpty { body += (body.isEmpty ? "" : "\n\n") + "Signed checkpoint of this ticket's audit log:\n" + marks.joined(separator: "\n") }
        let subject = events.isEmpty ? "Tandem: signed checkpoint" : RecordNotes.subject(events: events)
        return HelpdeskNote(subject: subject, body: body, key: Self.key(batch, events: events))
    }

    /// Unique to what the post carries, on every broker: the sink, the rows and the events' hashes.
    static func key(_ batch: [Delivery], events: [AuditEvent]) -> String {
        var text = batch.map { "\($0.sink):\($0.chain):\($0.id):\($0.eventID ?? 0):\($0.checkpointID ?? 0)" }.joined(separator: ",")
        text += "|" + events.map(\.hash).joined(separator: ",")
        return "td1-" + shortDigest(text)
    }

    /// The first 12 bytes of a SHA-256, in hex: enough to tell posts apart, short enough for a note's last line.
    static func shortDigest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(12).hexString
    }

    // MARK: Webhooks

    private func sendWebhook(_ row: Delivery, webhook: WebhookSink, now: Date) async -> Outcome {
        let body: Data
        let key: String
        do {
            guard let message = try await message(for: row) else {
                // Its event or checkpoint is gone from the store (`tandemd check` says more): visible, not retried forever.
                try await store.change(deliveries: [row.id], to: .failed(atMicros: Self.micros(now), error: "its event or checkpoint is no longer in the store"))
                logger.error("outbox: delivery \(row.id) for webhook \(webhook.name) names an event or checkpoint the store no longer has")
                return .progressed
            }
            (body, key) = message
            if row.batch == nil { try await store.change(deliveries: [row.id], to: .sending(batch: key)) }
        } catch {
            logger.error("outbox: cannot prepare delivery \(row.id) for webhook \(webhook.name): \(error)")
            restUntil = clock.now.addingTimeInterval(Self.storeRest)
            return .unreachable
        }
        do {
            // The timestamp is the send's (a receiver refuses stale ones); the id is the same on every try.
            try await webhook.send(id: row.batch ?? key, timestamp: clock.now, body: body)
        } catch {
            return await settle([row.id], sink: webhook.name, ticket: row.chain, attempts: row.attempts, error: error)
        }
        do {
            try await store.change(deliveries: [row.id], to: .delivered(atMicros: Self.micros(clock.now)))
        } catch {
            logger.error("outbox: sent \(key) to webhook \(webhook.name) but could not mark it delivered: \(error)")
        }
        BrokerMetrics.delivery(sink: webhook.name, outcome: "delivered", count: 1)
        return .progressed
    }

    /// The message for one row, and its id: the same on every try, unique to what it carries; nil
    /// when what it carries is gone.
    private func message(for row: Delivery) async throws -> (Data, String)? {
        let external = try await store.ticket(id: row.chain)?.external
        let message: WebhookMessage
        let hash: String
        if let eventID = row.eventID, let event = try await store.events(ids: [eventID]).first {
            message = WebhookMessage(ticket: row.chain, external: external, event: event)
            hash = event.hash
        } else if let id = row.checkpointID, let c = try await store.checkpoint(id: id) {
            message = WebhookMessage(ticket: row.chain, external: external, checkpoint: c)
            hash = c.signature
        } else {
            return nil
        }
        let key = "msg_" + Self.shortDigest("\(row.sink):\(row.id):\(hash)")
        return (try message.encoded(), key)
    }

    // MARK: Failures

    /// Temporary: tried again later with backoff. Final: marked failed, visibly.
    private func settle(_ ids: [Int64], sink: String, ticket: Int, attempts: Int, error: any Error) async -> Outcome {
        let helpdeskError = error as? HelpdeskError ?? .unreachable("\(error)")
        let now = clock.now
        guard helpdeskError.isTemporary else {
            do {
                try await store.change(deliveries: ids, to: .failed(atMicros: Self.micros(now), error: helpdeskError.description))
            } catch {
                logger.error("outbox: cannot record the outcome of deliveries to \(sink): \(error)")
            }
            logger.error("outbox: \(sink) ticket \(ticket) refused \(ids.count) deliveries for good: \(helpdeskError); 'tandem ticket resync' tries again")
            BrokerMetrics.delivery(sink: sink, outcome: "failed", count: ids.count)
            return .progressed
        }
        var delay = Self.backoff(attempts: attempts, base: helpdesks.retryBase, max: helpdesks.retryMax)
        // A post that left without an answer may still be being stored: ask only after it surely finished.
        if case .noAnswer = helpdeskError { delay = max(delay, Self.unsureWait) }
        do {
            try await store.change(deliveries: ids, to: .retry(nextMicros: Self.micros(now.addingTimeInterval(delay)), error: helpdeskError.description))
        } catch {
            logger.error("outbox: cannot record the outcome of deliveries to \(sink): \(error)")
        }
        logger.warning("outbox: \(sink) ticket \(ticket): \(helpdeskError); trying again in \(Int(delay.rounded(.up))) s")
        BrokerMetrics.delivery(sink: sink, outcome: "retry", count: ids.count)
        // A helpdesk that failed for now has likely failed for every ticket: the others wait too, this
        // pass and the next ones, until this ticket's next try.
        restUntil = now.addingTimeInterval(delay)
        return .unreachable
    }

    /// Doubling from `base`, at most `max`, and a random half of it shaved off so retries spread.
    static func backoff(attempts: Int, base: Double, max limit: Double) -> Double {
        let full = min(limit, base * pow(2, Double(min(attempts, 30))))
        return full / 2 + Double.random(in: 0...(full / 2))
    }

    private func reportCounts() async {
        guard clock.now.timeIntervalSince(lastCounts) >= 5 else { return }
        lastCounts = clock.now
        guard let counts = try? await store.deliveryCounts() else { return }
        let c = counts[sink] ?? [:]
        BrokerMetrics.outboxDepth(sink: sink, waiting: (c[.pending] ?? 0) + (c[.sending] ?? 0), failed: c[.failed] ?? 0)
    }

    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
}
