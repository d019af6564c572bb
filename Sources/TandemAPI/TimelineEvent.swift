import Foundation
import TandemAudit

/// One event of a timeline, with the field names of its canonical form (docs/audit-format.md).
public struct TimelineEvent: Codable, Sendable, Equatable {
    public var id: Int64
    public var chain: Int
    public var seq: Int64
    public var timeMicros: Int64
    public var session: String?
    public var actor: String
    public var kind: String
    public var data: [String: String]
    public var prev: String
    public var hash: String

    enum CodingKeys: String, CodingKey {
        case id, chain, seq, timeMicros = "time_us", session, actor, kind, data, prev, hash
    }

    public init(_ e: AuditEvent) {
        id = e.id
        chain = e.chain
        seq = e.seq
        timeMicros = e.timeMicros
        session = e.session
        actor = e.actor
        kind = e.kind
        data = e.data
        prev = e.prev
        hash = e.hash
    }

    /// The stored event, to hash, verify or print.
    public var auditEvent: AuditEvent {
        AuditEvent(id: id, chain: chain, seq: seq, timeMicros: timeMicros, session: session, actor: actor, kind: kind,
                   data: data, prev: prev, hash: hash)
    }

    /// `session` is written as null when absent, as in the canonical form.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(chain, forKey: .chain)
        try c.encode(seq, forKey: .seq)
        try c.encode(timeMicros, forKey: .timeMicros)
        try c.encode(session, forKey: .session)
        try c.encode(actor, forKey: .actor)
        try c.encode(kind, forKey: .kind)
        try c.encode(data, forKey: .data)
        try c.encode(prev, forKey: .prev)
        try c.encode(hash, forKey: .hash)
    }
}

/// What an online verification found.
public struct VerificationView: Codable, Sendable, Equatable {
    public var ok: Bool
    public var events: Int
    public var checkpoints: Int
    public var recordings: Int
    /// Events linked but not yet covered by a signed checkpoint.
    public var unsigned: Int
    public var problems: [String]
    /// The same, in one paragraph for people.
    public var summary: String

    public init(_ report: ChainVerifier.Report) {
        ok = report.ok
        events = report.eventsChecked
        checkpoints = report.checkpointsChecked
        recordings = report.recordingsChecked
        unsigned = report.unsigned
        problems = report.problems
        summary = report.summary
    }
}
