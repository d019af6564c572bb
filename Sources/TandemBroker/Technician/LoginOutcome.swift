import Logging
import TandemText

/// Why a technician's SSH client that never logged in was refused, in words that name the fix.
extension ConnectionIdentity {
    /// The text for `tandem proxy` to print; nil once logged in or before any login was asked.
    ///
    /// The same words for an unknown user and an unregistered key: the broker does not say which
    /// names exist to someone it does not know.
    var loginNotice: String? {
        guard user == nil, let name = loginName else { return nil }
        let shown = TerminalText.field(name, limit: 64)
        if offeredKeys.isEmpty {
            return "the broker accepts Ed25519 and ECDSA keys only, and your ssh offered neither (an RSA key cannot log in). "
                + "Make one with 'ssh-keygen -t ed25519' and ask your Tandem admin to register it: tandemd user key add \(shown) ~/.ssh/id_ed25519.pub"
        }
        return "no key your ssh offered (\(offeredKeys.joined(separator: ", "))) is registered for '\(shown)' at this broker. "
            + "Check the User line ('tandem ssh-config' writes yours) or ask your Tandem admin: tandemd user key add \(shown) ~/.ssh/id_ed25519.pub"
    }

    /// Logs a connection that ended without a login after offering no usable key (an RSA-only client).
    func logUnusableKeys(_ logger: Logger) {
        guard user == nil, let name = loginName, offeredKeys.isEmpty else { return }
        logger.notice("ssh login as '\(TerminalText.field(name, limit: 64))' from \(peer) refused: the client offered no Ed25519 or ECDSA key (an RSA-only client?)")
    }
}
