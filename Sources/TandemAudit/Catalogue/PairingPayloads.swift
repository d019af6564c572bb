// Pairing and consent: from the technician's request to the session's end.

/// A technician asked for a session on a ticket.
public struct SessionRequested: EventPayload {
    public static let kind = EventKind.sessionRequested
    public var scopes: CommaList
    public var timeLimit: Int
    /// Seconds without input or output after which the session ends (absent in records made before it existed).
    public var idleLimit: Int?

    public init(scopes: CommaList, timeLimit: Int, idleLimit: Int? = nil) {
        self.scopes = scopes
        self.timeLimit = timeLimit
        self.idleLimit = idleLimit
    }
}

/// The broker made the session code (ISO 8601 expiry; the code itself is never logged).
public struct CodeIssued: EventPayload {
    public static let kind = EventKind.codeIssued
    public var expires: String

    public init(expires: String) {
        self.expires = expires
    }
}

/// Nobody used the code in time.
public struct CodeExpired: EventPayload {
    public static let kind = EventKind.codeExpired

    public init() {}
}

/// An agent's join was refused.
public struct JoinRefused: EventPayload {
    public static let kind = EventKind.joinRefused
    public var reason: JoinRefusal
    public var retryAfter: Int?

    public init(reason: JoinRefusal, retryAfter: Int? = nil) {
        self.reason = reason
        self.retryAfter = retryAfter
    }
}

/// Joins refused while a source was rate-limited, counted instead of logged one by one.
public struct JoinRefusalsCounted: EventPayload {
    public static let kind = EventKind.joinRefusalsCounted
    public var reason: String
    public var count: Int
    public var from: String
    public var to: String

    public init(reason: String, count: Int, from: String, to: String) {
        self.reason = reason
        self.count = count
        self.from = from
        self.to = to
    }
}

/// An agent typed a valid code.
public struct JoinAccepted: EventPayload {
    public static let kind = EventKind.joinAccepted
    public var source: String

    public init(source: String) {
        self.source = source
    }
}

/// The end-user was shown who asks and for what.
public struct Offered: EventPayload {
    public static let kind = EventKind.offered
    public var scopes: CommaList

    public init(scopes: CommaList) {
        self.scopes = scopes
    }
}

/// The end-user said yes.
public struct Approved: EventPayload {
    public static let kind = EventKind.approved

    public init() {}
}

/// The end-user said no.
public struct Refused: EventPayload {
    public static let kind = EventKind.refused

    public init() {}
}

/// SSH to the agent is up: the technician may work.
public struct Started: EventPayload {
    public static let kind = EventKind.started

    public init() {}
}

/// The session is over; nothing of it is written after this.
public struct Ended: EventPayload {
    public static let kind = EventKind.ended
    public var reason: String
    public var bytesToAgent: Int?
    public var bytesFromAgent: Int?

    public init(reason: String, bytesToAgent: Int? = nil, bytesFromAgent: Int? = nil) {
        self.reason = reason
        self.bytesToAgent = bytesToAgent
        self.bytesFromAgent = bytesFromAgent
    }
}

/// Another person joined the session's shell (`tandem join`, or the console's live view):
/// `mode` is `observe` or `pair`; `consent` says whether the user was `asked` or only `told`.
public struct ParticipantJoined: EventPayload {
    public static let kind = EventKind.participantJoined
    public var mode: String
    public var consent: String
    public var via: String

    public init(mode: String, consent: String, via: String) {
        self.mode = mode
        self.consent = consent
        self.via = via
    }
}

/// The user did not let a person join (`refused`, or `no_answer` within the time), or the
/// broker's policy does not allow it (`policy`).
public struct ParticipantRefused: EventPayload {
    public static let kind = EventKind.participantRefused
    public var mode: String
    public var answer: String

    public init(mode: String, answer: String) {
        self.mode = mode
        self.answer = answer
    }
}

/// A person who joined left (or the shell they joined closed).
public struct ParticipantLeft: EventPayload {
    public static let kind = EventKind.participantLeft
    public var mode: String

    public init(mode: String) {
        self.mode = mode
    }
}

/// The agent's connection dropped; the session waits `grace` seconds for it to come back.
public struct AgentDisconnected: EventPayload {
    public static let kind = EventKind.agentDisconnected
    public var grace: Int

    public init(grace: Int) { self.grace = grace }
}

/// The agent came back with its resume token and the session's host key, after `awaySeconds`.
public struct AgentResumed: EventPayload {
    public static let kind = EventKind.agentResumed
    public var awaySeconds: Int

    public init(awaySeconds: Int) { self.awaySeconds = awaySeconds }
}

/// A technician's connection dropped while their shell ran; the session waits `grace` seconds.
public struct TechnicianDisconnected: EventPayload {
    public static let kind = EventKind.technicianDisconnected
    public var grace: Int
    public var channel: String

    public init(grace: Int, channel: String) {
        self.grace = grace
        self.channel = channel
    }
}

/// The technician took their shell up again, after `awaySeconds`.
public struct TechnicianResumed: EventPayload {
    public static let kind = EventKind.technicianResumed
    public var awaySeconds: Int
    public var channel: String

    public init(awaySeconds: Int, channel: String) {
        self.awaySeconds = awaySeconds
        self.channel = channel
    }
}

/// A way back into a session was refused: `reason` is `wrong_token` (unknown, used, or
/// another session's), `not_waiting`, `in_progress` or `key` (not the session's key).
public struct ResumeRefused: EventPayload {
    public static let kind = EventKind.resumeRefused
    public var side: String
    public var reason: String
    public var source: String?

    public init(side: String, reason: String, source: String? = nil) {
        self.side = side
        self.reason = reason
        self.source = source
    }
}

/// Why an agent could not join.
public enum JoinRefusal: String, Codable, Sendable {
    case rateLimited = "rate_limited"
    case unknownCode = "unknown_code"
    case expiredCode = "expired_code"
    case usedCode = "used_code"
}
