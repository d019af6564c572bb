import CLibSSH

/// The agent's side: an SSH server on one already-connected socket.
public final class SSHServer {
    private let bind: OpaquePointer
    public let session: SSHSession

    /// Performs the key exchange over `fd` with `hostKey`.
    /// `authorize` decides on each offered public key; `onChannel` on each new session channel.
    public init(fd: Int32, hostKey: SSHKey,
                authorize: @escaping (String, SSHKey) -> Bool,
                onChannel: @escaping (SSHChannel) -> Bool) throws(SSHError) {
        guard let b = ssh_bind_new() else { throw .call("server creation", detail: "out of memory") }
        bind = b
        session = try SSHSession()
        var no: Int32 = 0
        ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no)
        try check(ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, UnsafeRawPointer(try hostKey.detachedPrivateCopy())),
                  "loading the host key", bind)
        try SSHAlgorithms.apply(toBind: bind)
        session.authorizeKey = authorize
        session.onChannelOpen = onChannel
        try check(ssh_bind_accept_fd(bind, session.raw, fd), "accepting the connection", bind)
        session.installServerCallbacks()
        ssh_set_auth_methods(session.raw, Int32(SSH_AUTH_METHOD_PUBLICKEY))
        try check(ssh_handle_key_exchange(session.raw), "key exchange", session.raw)
    }

    deinit { ssh_bind_free(bind) }
}
