import Crypto
import Foundation
import TandemText

/// One link of a ticket's audit chain, as stored and as exported.
///
/// Each ticket has its own chain (chain 0 holds broker events with no ticket), so a
/// ticket's export verifies on its own. `prev` is the hash of the chain's previous event.
public struct AuditEvent: Codable, Sendable, Equatable {
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

    public static let genesis = String(repeating: "0", count: 64)

    /// As JSON (the API's timelines), the field names of the canonical form.
    enum CodingKeys: String, CodingKey {
        case id, chain, seq, timeMicros = "time_us", session, actor, kind, data, prev, hash
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

    public init(id: Int64, chain: Int, seq: Int64, timeMicros: Int64, session: String?, actor: String, kind: String,
                data: [String: String], prev: String, hash: String = "") {
        self.id = id
        self.chain = chain
        self.seq = seq
        self.timeMicros = timeMicros
        self.session = session
        self.actor = actor
        self.kind = kind
        self.data = data
        self.prev = prev
        self.hash = hash
    }

    public var ticket: Int? { chain == 0 ? nil : chain }
    public var time: Date { Date(timeIntervalSince1970: Double(timeMicros) / 1_000_000) }

    /// Everything but `hash`, in canonical form: what the hash covers.
    public var canonical: String {
        CanonicalJSON.encode(.object([
            ("actor", .string(actor)),
            ("chain", .int(Int64(chain))),
            ("data", .object(data.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("id", .int(id)),
            ("kind", .string(kind)),
            ("prev", .string(prev)),
            ("seq", .int(seq)),
            ("session", session.map { .string($0) } ?? .null),
            ("time_us", .int(timeMicros)),
        ]))
    }

    public func computeHash() -> String {
        SHA256.hash(data: Data(canonical.utf8)).hexString
    }

    /// The exported line: the canonical fields plus the stored hash.
    public var exportLine: String {
        // The stored hash is written as a JSON string like any other field: a hash column edited to
        // hold `","prev":"…` stays one string and cannot add keys to the line.
        String(canonical.dropLast()) + ",\"hash\":" + CanonicalJSON.encode(.string(hash)) + "}"
    }
}

extension Sequence where Element == UInt8 {
    public var hexString: String { map { String(format: "%02x", $0) }.joined() }
}

extension Digest {
    public var hexString: String { Array(self).hexString }
}

extension AuditEvent {
    /// One line of a timeline for people: time, session, actor, kind, data. Exactly one
    /// line whatever the event holds: every field is escaped, since actors, commands and
    /// file names come from other parties.
    public var humanLine: String {
        let formatter = ISO8601DateFormatter()
        let details = data.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return TerminalText.escape("\(formatter.string(from: time))  \(session ?? "-")  \(actor)  \(kind)  \(details)")
    }
}

extension AuditEvent {
    /// The recording this event names as made (a channel's end, a recording recovered at start),
    /// not one that was only viewed.
    public var recordingMade: String? {
        kind == EventKind.channelClosed.rawValue || kind == EventKind.recordingRecovered.rawValue ? data["recording_sha256"] : nil
    }
}
