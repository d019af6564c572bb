import CLibSSH

/// What went wrong in an SSH connection, said so a user can act on it.
public enum SSHError: Error, Equatable, Sendable, CustomStringConvertible {
    case call(String, detail: String)
    case hostKeyMismatch(expected: String, got: String)
    case authenticationFailed(String)
    /// The broker dropped the connection while checking the key: its fault, not the key's.
    case loginInterrupted(String)
    case channelClosed
    case key(String)

    public var description: String {
        switch self {
        case .call(let what, let detail): return "SSH \(what) failed: \(detail)"
        case .hostKeyMismatch(let expected, let got):
            return "the broker's SSH key is \(got), not the expected \(expected). Someone may be intercepting the connection; ask your administrator before going on."
        case .authenticationFailed(let why):
            return "the broker did not accept your key (\(why)): it is not registered for your user name, or your account was disabled. Ask the broker's admin ('tandemd user list')."
        case .loginInterrupted(let why):
            return "the broker stopped while logging you in (\(why)). This is a problem at the broker, not with your key: try again, and if it goes on, ask the broker's operator to look at its log."
        case .channelClosed: return "the connection closed"
        case .key(let why): return "SSH key problem: \(why)"
        }
    }
}

/// Reads the last libssh error of a session or bind handle.
func lastError(_ handle: OpaquePointer?) -> String {
    guard let handle, let text = ssh_get_error(UnsafeMutableRawPointer(handle)) else { return "unknown error" }
    return String(cString: text)
}

/// The single check every libssh return code goes through.
@discardableResult
func check(_ rc: Int32, _ what: String, _ handle: OpaquePointer?) throws(SSHError) -> Int32 {
    guard rc >= 0 else { throw .call(what, detail: lastError(handle)) }
    return rc
}
