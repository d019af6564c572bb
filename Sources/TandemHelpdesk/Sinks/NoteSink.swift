import TandemAPI

/// A helpdesk ticket as the helpdesk reports it.
public struct ExternalTicket: Sendable, Equatable {
    public var system: HelpdeskSystem
    public var id: Int
    public var subject: String
    public var status: String
    /// Work may be done on it (RT: new, open, stalled; Redmine: a status that is not closed).
    public var isOpen: Bool

    public init(system: HelpdeskSystem, id: Int, subject: String, status: String, isOpen: Bool) {
        self.system = system
        self.id = id
        self.subject = subject
        self.status = status
        self.isOpen = isOpen
    }

    /// `rt:1042`: how the broker's ticket names it.
    public var reference: String { TicketReference.external(system, id).description }
}

/// One note for a helpdesk ticket: a short subject line and plain text, carrying the
/// idempotency key that lets the broker tell later whether the helpdesk already holds it.
public struct HelpdeskNote: Sendable, Equatable {
    public var subject: String
    public var body: String
    public var key: String

    public init(subject: String, body: String, key: String) {
        self.subject = subject
        self.body = body
        self.key = key
    }

    /// The line that carries the key, last in every note.
    public var keyLine: String { Self.keyPrefix + key }
    public static let keyPrefix = "tandem-delivery: "
}

/// A helpdesk whose tickets take notes (Request Tracker's comments, Redmine's private notes).
public protocol NoteSink: Sendable {
    var system: HelpdeskSystem { get }
    /// The ticket, or `.noSuchTicket`.
    func ticket(_ id: Int) async throws(HelpdeskError) -> ExternalTicket
    func post(_ note: HelpdeskNote, ticket: Int) async throws(HelpdeskError)
    /// Whether a note carrying this key (as its own line) is already on the ticket: a post whose
    /// answer was lost.
    func holds(key: String, ticket: Int) async throws(HelpdeskError) -> Bool
    /// The notes that carry checkpoint lines, newest first, at most `CheckpointLine.notesRead`, and
    /// whether that is all of them.
    func checkpointNotes(ticket: Int) async throws(HelpdeskError) -> (notes: [String], complete: Bool)
}

extension HelpdeskNote {
    /// Whether `text` carries `key` as a line of its own (not merely quoted inside another line).
    public static func carries(_ text: String, key: String) -> Bool {
        let line = keyPrefix + key
        return text.split(whereSeparator: \.isNewline).contains { $0.trimmingCharacters(in: .whitespaces) == line }
    }
}
