/// What flows between an agent and the broker before SSH starts (framed JSON).
public enum AgentMessage: Codable, Sendable, Equatable {
    /// Agent → broker: the code the user typed, and who runs the agent.
    case join(JoinRequest)
    /// Broker → agent: what the technician asks for.
    case offer(Offer)
    /// Broker → agent: the join failed; the message is for the user.
    case rejected(Rejection)
    /// Agent → broker: the user's answer, and the agent's fresh host key when yes.
    case consent(Consent)
    /// Broker → agent: after this frame the stream carries SSH.
    case startSSH
    /// Agent → broker, first on a new connection after a drop: take up session `sessionID` again.
    case resume(ResumeRequest)
}

/// An agent's way back into its session after its connection dropped.
///
/// `token` is the secret the agent chose at consent (or named as `next` at its last resume):
/// the broker keeps only its hash, takes it once, and then expects `next`. The SSH that follows
/// must show the session's pinned host key, so the token alone lets nobody in.
public struct ResumeRequest: Codable, Sendable, Equatable {
    public var sessionID: String
    public var token: String
    public var next: String
    public init(sessionID: String, token: String, next: String) {
        self.sessionID = sessionID
        self.token = token
        self.next = next
    }
}

public struct JoinRequest: Codable, Sendable, Equatable {
    public var code: String
    public var hostname: String
    public var username: String
    public init(code: String, hostname: String, username: String) {
        self.code = code
        self.hostname = hostname
        self.username = username
    }
}

public struct Offer: Codable, Sendable, Equatable {
    public var sessionID: String
    public var technician: String
    public var ticketID: Int
    public var ticketTitle: String
    public var scopes: [Scope]
    public var timeLimitSeconds: Int
    /// The broker's SSH public key (OpenSSH line): the only key the agent lets in.
    public var brokerPublicKey: String
    public var brokerFingerprint: String
    /// How long the broker keeps the session after this agent's connection drops (`resume-grace`).
    public var resumeGraceSeconds: Int?

    public init(sessionID: String, technician: String, ticketID: Int, ticketTitle: String, scopes: [Scope],
                timeLimitSeconds: Int, brokerPublicKey: String, brokerFingerprint: String, resumeGraceSeconds: Int? = nil) {
        self.resumeGraceSeconds = resumeGraceSeconds
        self.sessionID = sessionID
        self.technician = technician
        self.ticketID = ticketID
        self.ticketTitle = ticketTitle
        self.scopes = scopes
        self.timeLimitSeconds = timeLimitSeconds
        self.brokerPublicKey = brokerPublicKey
        self.brokerFingerprint = brokerFingerprint
    }
}

public struct Rejection: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable { case unknown, expired, used, rateLimited, malformed, internalError, resumeRefused, resumeLater }
    public var reason: Reason
    public var message: String
    public init(reason: Reason, message: String) {
        self.reason = reason
        self.message = message
    }
}

public struct Consent: Codable, Sendable, Equatable {
    public var approved: Bool
    /// The agent's host key for this session only (OpenSSH line), when approved.
    public var hostKey: String?
    /// A secret of the agent's own for coming back after a drop (`ResumeRequest`), when approved.
    public var resumeToken: String?
    public init(approved: Bool, hostKey: String?, resumeToken: String? = nil) {
        self.approved = approved
        self.hostKey = hostKey
        self.resumeToken = resumeToken
    }
}
