import CLibSSH

/// One SSH connection (client or server side); owns the libssh session.
///
/// libssh is not thread-safe per session: create and use it on one thread.
public final class SSHSession {
    let raw: OpaquePointer
    private var serverCallbacks: UnsafeMutablePointer<ssh_server_callbacks_struct>?
    /// Server side: decides whether a public key may log in.
    var authorizeKey: ((String, SSHKey) -> Bool)?
    /// Server side: a new session channel was requested; return false to refuse.
    var onChannelOpen: ((SSHChannel) -> Bool)?
    /// Channels this session created, kept alive until closed.
    var channels: [SSHChannel] = []

    init() throws(SSHError) {
        guard let s = ssh_new() else { throw .call("session creation", detail: "out of memory") }
        raw = s
    }

    deinit {
        channels.removeAll()
        ssh_disconnect(raw)
        ssh_free(raw)
        serverCallbacks?.deallocate()
    }

    public var isConnected: Bool { ssh_is_connected(raw) != 0 }

    /// The peer's host key (after the key exchange).
    public func peerKey() throws(SSHError) -> SSHKey {
        var key: ssh_key?
        guard ssh_get_server_publickey(raw, &key) == SSH_OK, let key else {
            throw .call("reading the server key", detail: lastError(raw))
        }
        return SSHKey(raw: key)
    }

    public func disconnect() { ssh_disconnect(raw) }

    /// Installs the server-side callbacks that route to `authorizeKey` and `onChannelOpen`.
    func installServerCallbacks() {
        let cb = UnsafeMutablePointer<ssh_server_callbacks_struct>.allocate(capacity: 1)
        cb.initialize(to: ssh_server_callbacks_struct())
        cb.pointee.size = MemoryLayout<ssh_server_callbacks_struct>.size
        cb.pointee.userdata = Unmanaged.passUnretained(self).toOpaque()
        cb.pointee.auth_pubkey_function = authPubkeyTrampoline
        cb.pointee.channel_open_request_session_function = channelOpenTrampoline
        serverCallbacks = cb
        ssh_set_server_callbacks(raw, cb)
    }
}

private func session(_ userdata: UnsafeMutableRawPointer?) -> SSHSession {
    Unmanaged<SSHSession>.fromOpaque(userdata!).takeUnretainedValue()
}

private let authPubkeyTrampoline: ssh_auth_pubkey_callback = { _, user, pubkey, state, userdata in
    let me = session(userdata)
    guard let pubkey, let user else { return Int32(SSH_AUTH_DENIED.rawValue) }
    // Borrowed key: libssh frees it, so wrap a private copy of its public half.
    var b64: UnsafeMutablePointer<CChar>?
    guard ssh_pki_export_pubkey_base64(pubkey, &b64) == SSH_OK, let b64 else { return Int32(SSH_AUTH_DENIED.rawValue) }
    defer { ssh_string_free_char(b64) }
    var copy: ssh_key?
    guard ssh_pki_import_pubkey_base64(b64, ssh_key_type(pubkey), &copy) == SSH_OK, let copy else {
        return Int32(SSH_AUTH_DENIED.rawValue)
    }
    let key = SSHKey(raw: copy)
    let allowed = me.authorizeKey?(String(cString: user), key) ?? false
    guard allowed else { return Int32(SSH_AUTH_DENIED.rawValue) }
    // A query (no signature yet) and a verified signature both get yes; libssh checked the signature.
    if state == SSH_PUBLICKEY_STATE_NONE.rawValue || state == SSH_PUBLICKEY_STATE_VALID.rawValue {
        return Int32(SSH_AUTH_SUCCESS.rawValue)
    }
    return Int32(SSH_AUTH_DENIED.rawValue)
}

private let channelOpenTrampoline: ssh_channel_open_request_session_callback = { _, userdata in
    let me = session(userdata)
    guard let raw = ssh_channel_new(me.raw) else { return nil }
    let channel = SSHChannel(raw: raw, session: me)
    guard me.onChannelOpen?(channel) ?? false else { return nil }
    me.channels.append(channel)
    return raw
}
