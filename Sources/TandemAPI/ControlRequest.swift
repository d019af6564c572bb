import Foundation
import TandemCore

/// One typed request to the broker's services, as the CLI sends it over the SSH control channel
/// (the exec request's text is this value as JSON) and as the HTTP API's routes build it.
public enum ControlRequest: Sendable, Equatable {
    case ticketNew(title: String, requester: String)
    case ticketList
    case ticketShow(ticket: Int)
    case ticketAssign(ticket: Int, user: String)
    /// What the outbox holds for a ticket: pending, failed and delivered posts to its helpdesk and webhooks.
    case ticketSyncStatus(ticket: Int)
    /// Puts a ticket's failed deliveries back in line.
    case ticketResync(ticket: Int)
    case sessionNew(ticket: TicketReference, scopes: [Scope], timeLimit: Int?, idleLimit: Int? = nil)
    case sessionShow(SessionID)
    case sessionEnd(SessionID)
    /// An interactive shell; `resume` is the client's secret for taking it up again after a drop.
    case shell(SessionID, resume: String? = nil)
    /// Takes up a shell whose connection dropped: the secret given with it (`token`), the next one,
    /// and how many bytes of the shell's output the client has.
    case shellResume(SessionID, token: String, next: String, received: UInt64)
    case exec(SessionID, command: String)
    case sftp(SessionID)
    /// Watch (or, with `pair`, also type in) another technician's running shell, once the user agrees.
    case join(SessionID, pair: Bool)
    case auditLog(AuditSubject)
    /// With `againstHelpdesk`, also compares the chain with the signed checkpoints its helpdesk ticket holds.
    case auditVerify(ticket: Int, againstHelpdesk: Bool = false)
    case auditExport(ticket: Int)
    case auditRecordings(SessionID)
    case auditRecording(SessionID, sha256: String)
    case tokenNew(name: String, expiresIn: Int)
    case tokenList
    case tokenRevoke(id: String)
    case whoami
    case userList
    /// A one-time link that signs its holder in to the web console (over SSH only).
    case consoleLink
    /// Ends every console session of the caller.
    case consoleSignOutAll

    /// Whose timeline an auditor asks for.
    public enum AuditSubject: Sendable, Equatable {
        case ticket(Int)
        case session(SessionID)
    }

    /// The largest request the broker reads (a request is one SSH exec request or one HTTP body).
    public static let maxRequestBytes = 64 * 1024
    /// The longest command accepted for `exec`: it is kept whole on the ticket, never cut.
    public static let maxCommandBytes = 16 * 1024
    /// The longest a token may live: a token outliving a working week is a standing credential.
    public static let maxTokenSeconds = 30 * 86_400

    /// The operation's name on the wire, and in refusals on record.
    public var operation: String {
        switch self {
        case .ticketNew: "ticket.new"
        case .ticketList: "ticket.list"
        case .ticketShow: "ticket.show"
        case .ticketAssign: "ticket.assign"
        case .ticketSyncStatus: "ticket.sync-status"
        case .ticketResync: "ticket.resync"
        case .sessionNew: "session.new"
        case .sessionShow: "session.show"
        case .sessionEnd: "session.end"
        case .shell: "shell"
        case .shellResume: "shell.resume"
        case .exec: "exec"
        case .sftp: "sftp"
        case .join: "join"
        case .auditLog: "audit.log"
        case .auditVerify: "audit.verify"
        case .auditExport: "audit.export"
        case .auditRecordings: "audit.recordings"
        case .auditRecording: "audit.recording"
        case .tokenNew: "token.new"
        case .tokenList: "token.list"
        case .tokenRevoke: "token.revoke"
        case .whoami: "whoami"
        case .userList: "user.list"
        case .consoleLink: "console.link"
        case .consoleSignOutAll: "console.sign-out-all"
        }
    }
}
