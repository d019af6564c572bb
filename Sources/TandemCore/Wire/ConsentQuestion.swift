import Foundation

/// A question the broker asks the end-user while a session runs: a file operation in a
/// `files:ask` session, or another person asking to join. The agent words it and answers.
///
/// It travels as JSON on a channel of the subsystem `ConsentQuestion.subsystem`, which only the
/// broker opens (it relays no technician's request for that name); the answer comes back as
/// one `ConsentAnswer` byte string, then the channel closes.
public struct ConsentQuestion: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A file operation: `operation` on `path` (and `to`).
        case file
        /// Another person asks to join: `mode` is `observe` or `pair`.
        case join
    }

    public var kind: Kind
    /// Who asks (a user name on the broker).
    public var who: String
    /// Their role when it is not "technician" (an admin or auditor watching).
    public var role: String?
    /// download, upload, remove, remove folder, rename, link, change
    public var operation: String?
    public var path: String?
    public var to: String?
    public var mode: String?

    public init(kind: Kind, who: String, role: String? = nil, operation: String? = nil, path: String? = nil, to: String? = nil,
                mode: String? = nil) {
        self.kind = kind
        self.who = who
        self.role = role
        self.operation = operation
        self.path = path
        self.to = to
        self.mode = mode
    }

    /// The subsystem a question arrives on.
    public static let subsystem = "tandem-ask@tandem"
    /// The largest question either side sends or reads (paths are at most 4096 bytes each).
    public static let maxBytes = 12 * 1024

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// Reads a question; anything longer than `maxBytes` or not a question is an error.
    public static func decode(_ bytes: [UInt8]) throws(BrokerMessageError) -> ConsentQuestion {
        guard bytes.count <= maxBytes else { throw .oversized(bytes.count) }
        guard let question = try? JSONDecoder().decode(ConsentQuestion.self, from: Data(bytes)) else { throw .malformed }
        guard !question.who.isEmpty else { throw .malformed }
        switch question.kind {
        case .file: guard question.operation != nil, question.path != nil else { throw .malformed }
        case .join: guard question.mode == "observe" || question.mode == "pair" else { throw .malformed }
        }
        return question
    }
}

/// The end-user's answer to a `ConsentQuestion`, as sent back on its channel.
public enum ConsentAnswer: String, Sendable, Equatable {
    case yes = "y"
    case no = "n"
    /// Yes, and do not ask again for files in this session.
    case all = "a"
    /// Nobody answered in time (or the question could not be shown): a no.
    case noAnswer = "-"

    /// What the agent sent, read strictly: anything else is no answer.
    public init(reply: [UInt8]) {
        self = ConsentAnswer(rawValue: String(decoding: reply.prefix(4), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            ?? .noAnswer
    }

    /// Said yes (this time, or for all).
    public var allows: Bool { self == .yes || self == .all }

    /// The word on the record.
    public var recorded: String {
        switch self {
        case .yes: return "allowed"
        case .no: return "refused"
        case .all: return "allowed_all"
        case .noAnswer: return "no_answer"
        }
    }
}

/// A question or a list from the broker that the agent will not read.
public enum BrokerMessageError: Error, Equatable, CustomStringConvertible {
    case oversized(Int)
    case malformed

    public var description: String {
        switch self {
        case .oversized(let n): return "a message of \(n) bytes is over the limit"
        case .malformed: return "not a message this agent knows"
        }
    }
}
