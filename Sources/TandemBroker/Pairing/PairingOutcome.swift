/// How a pending session turned out, as the waiting technician learns it.
public enum PairingOutcome: Sendable, Equatable {
    case approved
    case refused
    case expired
    case ended(String)
}
