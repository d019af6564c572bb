import TandemText

/// What can stop the agent, in words for the person at the keyboard.
public enum AgentError: Error, CustomStringConvertible, Equatable {
    case cannotReachBroker(String)
    case rejected(String)
    case brokerClosed
    case setup(String)

    public var description: String {
        switch self {
        case .cannotReachBroker(let why): return "Could not connect to the support service: \(TerminalText.escape(why))."
        case .rejected(let message): return TerminalText.field(message, limit: 300)
        case .brokerClosed: return "The support service closed the connection."
        case .setup(let why): return "The remote session could not start: \(TerminalText.escape(why))"
        }
    }
}
