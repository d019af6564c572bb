import Foundation
import TandemCore
import TandemText

/// A returning agent that reached a replica other than the one holding its session: the replica
/// it reached passes its connection on, and says so first on the channel (an environment request,
/// believed only on the peer link). The owner then checks the agent's way back as its own.
struct AgentForward: Codable, Sendable, Equatable {
    /// The session the agent comes back to.
    var session: String
    /// The agent's address, as the replica it reached saw it (the owner's refusals count by it).
    var from: String
    /// The replica that passes the connection on.
    var via: String

    static let variable = "TANDEM_AGENT_FORWARD"
    /// Sent by the passing replica just before it closes the channel when the agent said goodbye
    /// (its TLS closed cleanly); a close without it is a lost connection, which the session waits for.
    static let goodbye = "TANDEM_AGENT_GOODBYE"
    static let maxBytes = 1024

    var encoded: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }

    static func decode(_ text: String) throws(TandemError) -> AgentForward {
        guard text.utf8.count <= maxBytes else { throw .protocolViolation("an agent forward longer than \(maxBytes) bytes") }
        let value: AgentForward
        do {
            value = try JSONDecoder().decode(AgentForward.self, from: Data(text.utf8))
        } catch {
            throw .protocolViolation("an agent forward that is not the expected JSON")
        }
        guard (try? SessionID.parse(value.session)) != nil, value.from.utf8.count <= 200, value.via.utf8.count <= 64,
              TerminalText.firstControl(in: value.via) == nil else {
            throw .protocolViolation("an agent forward with a field out of bounds")
        }
        // The agent's address goes into log lines, events and the guess count: an address, nothing else.
        guard let address = IPAddressText.normalized(value.from) else {
            throw .protocolViolation("an agent forward whose address is not an IP address")
        }
        return AgentForward(session: value.session, from: address, via: value.via)
    }
}
