import Foundation
import TandemAudit

/// A webhook's body, the Standard Webhooks way: `type`, `timestamp` and `data`.
public struct WebhookMessage: Encodable, Sendable {
    /// `tandem.event.exec`, `tandem.checkpoint`, …
    public var type: String
    /// When the event happened or the checkpoint was signed (RFC 3339, UTC).
    public var timestamp: String
    public var data: Payload

    public struct Payload: Encodable, Sendable {
        /// The broker's ticket number (the audit chain).
        public var ticket: Int
        /// The helpdesk ticket it is linked to, if any (`rt:1042`).
        public var external: String?
        /// The event in its canonical form (docs/audit-format.md): a receiver can recompute its hash.
        public var event: AuditEvent?
        public var checkpoint: CheckpointBody?
    }

    /// A signed checkpoint, and the line a helpdesk note would carry.
    public struct CheckpointBody: Encodable, Sendable {
        public var chain: Int
        public var seq: Int64
        public var eventID: Int64
        public var head: String
        public var timeMicros: Int64
        public var signature: String
        public var line: String

        enum CodingKeys: String, CodingKey {
            case chain, seq, head, signature, line
            case eventID = "event_id"
            case timeMicros = "time_us"
        }
    }

    public init(ticket: Int, external: String?, event: AuditEvent) {
        type = "tandem.event." + event.kind
        timestamp = Self.iso(event.timeMicros)
        data = Payload(ticket: ticket, external: external, event: event, checkpoint: nil)
    }

    public init(ticket: Int, external: String?, checkpoint c: Checkpoint) {
        type = "tandem.checkpoint"
        timestamp = Self.iso(c.timeMicros)
        data = Payload(ticket: ticket, external: external, event: nil, checkpoint: CheckpointBody(
            chain: c.chain, seq: c.seq, eventID: c.eventID, head: c.head, timeMicros: c.timeMicros, signature: c.signature,
            line: CheckpointLine.format(c)))
    }

    /// The bytes that are signed and sent.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    static func iso(_ micros: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }
}
