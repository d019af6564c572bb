import Foundation
import TandemCore

/// The wire form: one flat JSON object, `{"op": "ticket.show", "ticket": 12}`.
///
/// Every field is checked here, once, for both adapters: a request that decodes is well formed
/// (sizes, ranges, session ids, digests); whether the caller may make it is the services' rule.
extension ControlRequest: Codable {
    enum Key: String, CodingKey {
        case op, ticket, session, title, requester, user, scopes, timeLimit = "time_limit", idleLimit = "idle_limit", command, sha256
        case name, expiresIn = "expires_in", id, againstHelpdesk = "against_helpdesk", mode, resume, token, next, received
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let op = try c.decode(String.self, forKey: .op)
        func ticket() throws -> Int {
            let n = try c.decode(Int.self, forKey: .ticket)
            guard n > 0 else { throw Self.invalid(c, .ticket, "a ticket number is 1 or more") }
            return n
        }
        // A number, or a helpdesk ticket's name as text ("rt:1042"); a number as text is the same number.
        func reference() throws -> TicketReference {
            if let n = try? c.decode(Int.self, forKey: .ticket) {
                guard n > 0 else { throw Self.invalid(c, .ticket, "a ticket number is 1 or more") }
                return .number(n)
            }
            let text = try c.decode(String.self, forKey: .ticket)
            guard text.utf8.count <= 64, let reference = TicketReference(text) else {
                throw Self.invalid(c, .ticket, "ticket takes \(TicketReference.forms)")
            }
            return reference
        }
        func session() throws -> SessionID {
            do { return try SessionID.parse(try c.decode(String.self, forKey: .session)) } catch let error as TandemError {
                throw Self.invalid(c, .session, error.description)
            }
        }
        func text(_ key: Key, max: Int) throws -> String {
            let value = try c.decode(String.self, forKey: key)
            guard !value.isEmpty, value.utf8.count <= max else { throw Self.invalid(c, key, "\(key.stringValue) takes 1 to \(max) bytes") }
            return value
        }
        switch op {
        // Byte ceilings only: how many characters a title or a name may have is the services' rule.
        case "ticket.new": self = .ticketNew(title: try text(.title, max: 4096), requester: try text(.requester, max: 1024))
        case "ticket.list": self = .ticketList
        case "ticket.show": self = .ticketShow(ticket: try ticket())
        case "ticket.assign": self = .ticketAssign(ticket: try ticket(), user: try text(.user, max: 64))
        case "ticket.sync-status": self = .ticketSyncStatus(ticket: try ticket())
        case "ticket.resync": self = .ticketResync(ticket: try ticket())
        case "session.new":
            let scopes: [Scope]
            do { scopes = try Scope.parseList(try c.decodeIfPresent(String.self, forKey: .scopes) ?? "shell") } catch let error as TandemError {
                throw Self.invalid(c, .scopes, error.description)
            }
            let limit = try c.decodeIfPresent(Int.self, forKey: .timeLimit)
            if let limit, !(1...86_400).contains(limit) { throw Self.invalid(c, .timeLimit, "time_limit takes seconds, 1 to 86400") }
            let idle = try c.decodeIfPresent(Int.self, forKey: .idleLimit)
            if let idle, !(1...86_400).contains(idle) { throw Self.invalid(c, .idleLimit, "idle_limit takes seconds, 1 to 86400") }
            self = .sessionNew(ticket: try reference(), scopes: scopes, timeLimit: limit, idleLimit: idle)
        case "session.show": self = .sessionShow(try session())
        case "session.end": self = .sessionEnd(try session())
        case "shell":
            let resume = try c.decodeIfPresent(String.self, forKey: .resume)
            if let resume, !Self.isResumeSecret(resume) { throw Self.invalid(c, .resume, "resume takes 32 to 128 lowercase hex digits") }
            self = .shell(try session(), resume: resume)
        case "shell.resume":
            let token = try c.decode(String.self, forKey: .token)
            let next = try c.decode(String.self, forKey: .next)
            guard Self.isResumeSecret(token) else { throw Self.invalid(c, .token, "token takes 32 to 128 lowercase hex digits") }
            guard Self.isResumeSecret(next), next != token else { throw Self.invalid(c, .next, "next takes 32 to 128 lowercase hex digits, not the token") }
            self = .shellResume(try session(), token: token, next: next, received: try c.decode(UInt64.self, forKey: .received))
        case "exec":
            let command = try c.decode(String.self, forKey: .command)
            guard !command.trimmingCharacters(in: .whitespaces).isEmpty else { throw Self.invalid(c, .command, "no command given") }
            guard command.utf8.count <= Self.maxCommandBytes else { throw Self.invalid(c, .command, Self.commandTooLong(command.utf8.count)) }
            self = .exec(try session(), command: command)
        case "sftp": self = .sftp(try session())
        case "join":
            let mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "observe"
            guard mode == "observe" || mode == "pair" else { throw Self.invalid(c, .mode, "mode is observe or pair") }
            self = .join(try session(), pair: mode == "pair")
        case "audit.log":
            if c.contains(.session) { self = .auditLog(.session(try session())) } else { self = .auditLog(.ticket(try ticket())) }
        case "audit.verify":
            self = .auditVerify(ticket: try ticket(), againstHelpdesk: try c.decodeIfPresent(Bool.self, forKey: .againstHelpdesk) ?? false)
        case "audit.export": self = .auditExport(ticket: try ticket())
        case "audit.recordings": self = .auditRecordings(try session())
        case "audit.recording":
            let sha = try c.decode(String.self, forKey: .sha256)
            guard sha.utf8.count == 64, sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw Self.invalid(c, .sha256, "sha256 is 64 lowercase hex digits")
            }
            self = .auditRecording(try session(), sha256: sha)
        case "token.new":
            let name = try c.decodeIfPresent(String.self, forKey: .name) ?? "token"
            guard !name.isEmpty, name.utf8.count <= 1024 else { throw Self.invalid(c, .name, "a token's name takes 1 to 64 characters") }
            let seconds = try c.decodeIfPresent(Int.self, forKey: .expiresIn) ?? 8 * 3600
            guard (60...Self.maxTokenSeconds).contains(seconds) else {
                throw Self.invalid(c, .expiresIn, "a token lives from 60 seconds to \(Self.maxTokenSeconds / 86_400) days")
            }
            self = .tokenNew(name: name, expiresIn: seconds)
        case "token.list": self = .tokenList
        case "token.revoke":
            // Only the public part: a whole token pasted here must not be echoed back in a "not found".
            let id = try c.decode(String.self, forKey: .id)
            guard id.utf8.count == 16, id.hasPrefix("tok_"), id.utf8.dropFirst(4).allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw Self.invalid(c, .id, "a token id looks like tok_3f9a1c2d0b4e (see 'tandem token list'), without the part after the dot")
            }
            self = .tokenRevoke(id: id)
        case "whoami": self = .whoami
        case "user.list": self = .userList
        case "console.link": self = .consoleLink
        case "console.sign-out-all": self = .consoleSignOutAll
        default:
            throw DecodingError.dataCorruptedError(forKey: .op, in: c, debugDescription: "unknown operation '\(op.prefix(40))'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(operation, forKey: .op)
        switch self {
        case .ticketNew(let title, let requester):
            try c.encode(title, forKey: .title)
            try c.encode(requester, forKey: .requester)
        case .ticketList, .tokenList, .whoami, .userList, .consoleLink, .consoleSignOutAll: break
        case .ticketShow(let ticket), .auditExport(let ticket), .ticketSyncStatus(let ticket), .ticketResync(let ticket):
            try c.encode(ticket, forKey: .ticket)
        case .auditVerify(let ticket, let againstHelpdesk):
            try c.encode(ticket, forKey: .ticket)
            if againstHelpdesk { try c.encode(true, forKey: .againstHelpdesk) }
        case .ticketAssign(let ticket, let user):
            try c.encode(ticket, forKey: .ticket)
            try c.encode(user, forKey: .user)
        case .sessionNew(let ticket, let scopes, let limit, let idle):
            switch ticket {
            case .number(let n): try c.encode(n, forKey: .ticket)
            case .external: try c.encode(ticket.description, forKey: .ticket)
            }
            try c.encode(scopes.map(\.rawValue).joined(separator: ","), forKey: .scopes)
            try c.encodeIfPresent(limit, forKey: .timeLimit)
            try c.encodeIfPresent(idle, forKey: .idleLimit)
        case .sessionShow(let id), .sessionEnd(let id), .sftp(let id), .auditRecordings(let id):
            try c.encode(id.rawValue, forKey: .session)
        case .shell(let id, let resume):
            try c.encode(id.rawValue, forKey: .session)
            try c.encodeIfPresent(resume, forKey: .resume)
        case .shellResume(let id, let token, let next, let received):
            try c.encode(id.rawValue, forKey: .session)
            try c.encode(token, forKey: .token)
            try c.encode(next, forKey: .next)
            try c.encode(received, forKey: .received)
        case .exec(let id, let command):
            try c.encode(id.rawValue, forKey: .session)
            try c.encode(command, forKey: .command)
        case .join(let id, let pair):
            try c.encode(id.rawValue, forKey: .session)
            try c.encode(pair ? "pair" : "observe", forKey: .mode)
        case .auditLog(.ticket(let ticket)): try c.encode(ticket, forKey: .ticket)
        case .auditLog(.session(let id)): try c.encode(id.rawValue, forKey: .session)
        case .auditRecording(let id, let sha):
            try c.encode(id.rawValue, forKey: .session)
            try c.encode(sha, forKey: .sha256)
        case .tokenNew(let name, let seconds):
            try c.encode(name, forKey: .name)
            try c.encode(seconds, forKey: .expiresIn)
        case .tokenRevoke(let id): try c.encode(id, forKey: .id)
        }
    }

    /// A resume secret as the CLI makes them: hex, long enough not to be guessed, short enough to bound.
    static func isResumeSecret(_ text: String) -> Bool {
        (32...128).contains(text.utf8.count) && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    private static func invalid(_ c: KeyedDecodingContainer<Key>, _ key: Key, _ why: String) -> DecodingError {
        DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: why)
    }

    /// Reads a request, with the size limit and a message a person can act on.
    public static func decode(_ bytes: some Collection<UInt8>) throws(TandemError) -> ControlRequest {
        guard bytes.count <= maxRequestBytes else { throw .frameTooLarge(bytes.count, limit: maxRequestBytes) }
        do {
            return try JSONDecoder().decode(ControlRequest.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .invalidArgument(Self.explain(error))
        } catch {
            throw .invalidArgument("the request is not valid JSON")
        }
    }

    /// The compact JSON the CLI sends.
    public var json: String {
        // Encoding a value of known shape cannot fail; an empty object would be refused by the broker anyway.
        WireJSON.encode(self).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A decoding error in words: which field, and what it takes.
    static func explain(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context):
            let field = context.codingPath.last?.stringValue
            return field.map { "\($0): \(context.debugDescription)" } ?? "the request is not valid JSON"
        case .keyNotFound(let key, _): return "the request needs '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "'\(context.codingPath.last?.stringValue ?? "request")' has the wrong type"
        @unknown default: return "the request is not valid"
        }
    }
}
