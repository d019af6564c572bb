import CLibSSH

/// The algorithm lists we always set explicitly.
///
/// libssh 0.10.6 sends its default cipher list with a trailing comma, and
/// swift-nio-ssh hashes the re-serialised list, so the key exchange fails unless
/// every list is given (see INTEROP-NOTES). These are also what NIO supports.
enum SSHAlgorithms {
    static let ciphers = "aes256-gcm@openssh.com,aes128-gcm@openssh.com"
    static let kex = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256"
    static let hostKeys = "ssh-ed25519,ecdsa-sha2-nistp256"
    static let macs = "hmac-sha2-256-etm@openssh.com,hmac-sha2-256"
    static let publicKeys = "ssh-ed25519,ecdsa-sha2-nistp256"

    static func apply(toSession s: OpaquePointer) throws(SSHError) {
        let pairs: [(ssh_options_e, String)] = [
            (SSH_OPTIONS_CIPHERS_C_S, ciphers), (SSH_OPTIONS_CIPHERS_S_C, ciphers),
            (SSH_OPTIONS_KEY_EXCHANGE, kex), (SSH_OPTIONS_HOSTKEYS, hostKeys),
            (SSH_OPTIONS_HMAC_C_S, macs), (SSH_OPTIONS_HMAC_S_C, macs),
            (SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES, publicKeys),
            (SSH_OPTIONS_COMPRESSION_C_S, "none"), (SSH_OPTIONS_COMPRESSION_S_C, "none"),
        ]
        for (option, value) in pairs {
            try check(ssh_options_set(s, option, value), "setting algorithms", s)
        }
    }

    static func apply(toBind b: OpaquePointer) throws(SSHError) {
        let pairs: [(ssh_bind_options_e, String)] = [
            (SSH_BIND_OPTIONS_CIPHERS_C_S, ciphers), (SSH_BIND_OPTIONS_CIPHERS_S_C, ciphers),
            (SSH_BIND_OPTIONS_KEY_EXCHANGE, kex), (SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, hostKeys),
            (SSH_BIND_OPTIONS_HMAC_C_S, macs), (SSH_BIND_OPTIONS_HMAC_S_C, macs),
            (SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, publicKeys),
        ]
        for (option, value) in pairs {
            try check(ssh_bind_options_set(b, option, value), "setting server algorithms", b)
        }
    }
}
