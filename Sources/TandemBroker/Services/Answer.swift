import Foundation
import TandemAPI
import TandemCore

/// What a service answered, for an adapter to put in its own form (JSON lines, an HTTP body).
public enum Answer: Sendable {
    /// One value.
    case one(any Encodable & Sendable)
    /// A list: JSON lines on the control channel, a JSON array over HTTP.
    case many([any Encodable & Sendable])
    /// Bytes as they are: a tar bundle, an asciicast recording.
    case bytes(Data, contentType: String)
    /// A new session's code; the control channel then waits for the end-user's answer.
    case offer(SessionOffer)
    /// An online verification: a failed one is still an answer, with its problems.
    case verification(VerificationView)
}

extension BrokerServices {
    /// Runs one typed request for `caller`: the one place requests meet services, for every adapter.
    public func answer(_ request: ControlRequest, for caller: Caller) async throws -> Answer {
        switch request {
        case .ticketNew(let title, let requester): return .one(try await tickets.create(caller, title: title, requester: requester))
        case .ticketList: return .many(try await tickets.list(caller))
        case .ticketShow(let id): return .one(try await tickets.show(caller, id))
        case .ticketAssign(let id, let assignee): return .one(try await tickets.assign(caller, id, to: assignee))
        case .sessionNew(let ticket, let scopes, let limit, let idle):
            return .offer(try await sessions.request(caller, ticket: ticket, scopes: scopes, timeLimit: limit, idleLimit: idle))
        case .sessionShow(let id): return .one(try await sessions.show(caller, id))
        case .sessionEnd(let id): return .one(try await sessions.end(caller, id))
        case .auditLog(.ticket(let ticket)): return .many(try await audit.timeline(caller, ticket: ticket))
        case .auditLog(.session(let id)): return .many(try await audit.timeline(caller, session: id))
        case .ticketSyncStatus(let id): return .many(try await tickets.syncStatus(caller, id))
        case .ticketResync(let id): return .one(try await tickets.resync(caller, id))
        case .auditVerify(let ticket, let againstHelpdesk):
            return .verification(try await audit.verify(caller, ticket: ticket, againstHelpdesk: againstHelpdesk))
        case .auditExport(let ticket): return .bytes(try await audit.export(caller, ticket: ticket), contentType: "application/x-tar")
        case .auditRecordings(let id): return .many(try await audit.recordings(caller, session: id))
        case .auditRecording(let id, let sha):
            return .bytes(try await audit.recording(caller, session: id, sha256: sha), contentType: "application/x-asciicast")
        case .tokenNew(let name, let seconds): return .one(try await tokens.mint(caller, name: name, expiresIn: seconds))
        case .tokenList: return .many(try await tokens.list(caller))
        case .tokenRevoke(let id): return .one(try await tokens.revoke(caller, id: id))
        case .whoami: return .one(users.me(caller))
        case .userList: return .many(try await users.list(caller))
        case .consoleLink: return .one(try await console.link(caller))
        case .consoleSignOutAll: return .one(try await console.signOutAll(caller))
        case .shell, .shellResume, .exec, .sftp, .join:
            // Relays, not services: the SSH side attaches them to the agent; nothing else can.
            throw TandemError.invalidArgument("\(request.operation) is a relay to the end-user's machine: use 'tandem \(request.operation)'")
        }
    }
}
