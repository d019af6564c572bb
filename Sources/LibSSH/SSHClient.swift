import CLibSSH

/// The technician's side: an SSH client over an already-connected socket.
public extension SSHSession {
    /// Connects over `fd` (one end of a socketpair that carries the TLS tunnel),
    /// checks the server's key against `expectedFingerprint` when given, and logs in as `user` with `key`.
    static func connect(fd: Int32, user: String, key: SSHKey?, expectedFingerprint: String?) throws(SSHError) -> SSHSession {
        let s = try open(fd: fd, user: user, expectedFingerprint: expectedFingerprint)
        try s.login(key: key)
        return s
    }

    /// The key exchange only: connects over `fd` and checks the server's key, without logging in.
    static func open(fd: Int32, user: String, expectedFingerprint: String?) throws(SSHError) -> SSHSession {
        let s = try SSHSession()
        var socket = fd
        try check(ssh_options_set(s.raw, SSH_OPTIONS_FD, &socket), "using the tunnel", s.raw)
        try check(ssh_options_set(s.raw, SSH_OPTIONS_HOST, "tandem-broker"), "setting the host", s.raw)
        try check(ssh_options_set(s.raw, SSH_OPTIONS_USER, user), "setting the user", s.raw)
        var no: Int32 = 0
        ssh_options_set(s.raw, SSH_OPTIONS_PROCESS_CONFIG, &no)
        try SSHAlgorithms.apply(toSession: s.raw)
        try check(ssh_connect(s.raw), "connecting to the broker", s.raw)

        let serverKey = try s.peerKey()
        let got = try serverKey.fingerprint()
        if let expectedFingerprint, expectedFingerprint != got {
            throw .hostKeyMismatch(expected: expectedFingerprint, got: got)
        }
        return s
    }

    /// Logs in with `key`, or with ssh-agent's and the default key files when nil.
    func login(key: SSHKey?) throws(SSHError) {
        let rc: Int32
        if let key {
            rc = ssh_userauth_publickey(raw, nil, key.raw)
        } else {
            rc = ssh_userauth_publickey_auto(raw, nil, nil)
        }
        guard rc == SSH_AUTH_SUCCESS.rawValue else {
            if rc == SSH_AUTH_DENIED.rawValue { throw .authenticationFailed("key refused") }
            throw .loginInterrupted(lastError(raw))
        }
    }

    /// A new session channel, opened.
    func openChannel() throws(SSHError) -> SSHChannel {
        guard let raw = ssh_channel_new(self.raw) else { throw .call("creating a channel", detail: lastError(self.raw)) }
        let channel = SSHChannel(raw: raw, session: self)
        try channel.openSession()
        channels.append(channel)
        return channel
    }
}
