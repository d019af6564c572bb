import CLibSSH

/// An SSH key held by libssh; freed with the object.
public final class SSHKey {
    let raw: OpaquePointer

    init(raw: OpaquePointer) { self.raw = raw }
    deinit { ssh_key_free(raw) }

    /// A fresh Ed25519 key (the agent's host key, one per session).
    public static func generateEd25519() throws(SSHError) -> SSHKey {
        var key: ssh_key?
        guard ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK, let key else { throw .key("cannot generate an Ed25519 key") }
        return SSHKey(raw: key)
    }

    /// A private key file in OpenSSH or PEM format (no passphrase prompts here).
    public static func loadPrivate(path: String) throws(SSHError) -> SSHKey {
        var key: ssh_key?
        guard ssh_pki_import_privkey_file(path, nil, nil, nil, &key) == SSH_OK, let key else {
            throw .key("cannot read the private key \(path); check the path, or that it has no passphrase (or use ssh-agent)")
        }
        return SSHKey(raw: key)
    }

    /// Parses an OpenSSH public key line (`ssh-ed25519 AAAA… comment`).
    public static func parsePublic(line: String) throws(SSHError) -> SSHKey {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2 else { throw .key("not an OpenSSH public key line") }
        let type = ssh_key_type_from_name(String(parts[0]))
        var key: ssh_key?
        guard type != SSH_KEYTYPE_UNKNOWN, ssh_pki_import_pubkey_base64(String(parts[1]), type, &key) == SSH_OK, let key else {
            throw .key("not a valid \(parts[0]) public key")
        }
        return SSHKey(raw: key)
    }

    /// `ssh-ed25519 AAAA…`, the form `authorized_keys` and the offer use.
    public func publicLine() throws(SSHError) -> String {
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(raw, &b64) == SSH_OK, let b64 else { throw .key("cannot export the public key") }
        defer { ssh_string_free_char(b64) }
        let type = String(cString: ssh_key_type_to_char(ssh_key_type(raw)))
        return "\(type) \(String(cString: b64))"
    }

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    public func fingerprint() throws(SSHError) -> String {
        var hash: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard ssh_get_publickey_hash(raw, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == SSH_OK, let hash else {
            throw .key("cannot hash the key")
        }
        defer { var h: UnsafeMutablePointer<UInt8>? = hash; ssh_clean_pubkey_hash(&h) }
        guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length) else { throw .key("cannot format the fingerprint") }
        defer { ssh_string_free_char(text) }
        return String(cString: text)
    }

    /// True when both hold the same public key.
    public func samePublicKey(as other: SSHKey) -> Bool {
        ssh_key_cmp(raw, other.raw, SSH_KEY_CMP_PUBLIC) == 0
    }

    /// The private key as base64 text, to hand the key to the thread that will own it.
    public func privateBase64() throws(SSHError) -> String {
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_privkey_base64(raw, nil, nil, nil, &b64) == SSH_OK, let b64 else { throw .key("cannot export the key") }
        defer { ssh_string_free_char(b64) }
        return String(cString: b64)
    }

    public static func fromPrivateBase64(_ text: String) throws(SSHError) -> SSHKey {
        var key: ssh_key?
        guard ssh_pki_import_privkey_base64(text, nil, nil, nil, &key) == SSH_OK, let key else { throw .key("cannot import the key") }
        return SSHKey(raw: key)
    }

    /// A private copy that a bind may own (libssh frees keys given to a bind).
    func detachedPrivateCopy() throws(SSHError) -> OpaquePointer {
        var b64: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_privkey_base64(raw, nil, nil, nil, &b64) == SSH_OK, let b64 else { throw .key("cannot copy the host key") }
        defer { ssh_string_free_char(b64) }
        var copy: ssh_key?
        guard ssh_pki_import_privkey_base64(b64, nil, nil, nil, &copy) == SSH_OK, let copy else { throw .key("cannot copy the host key") }
        return copy
    }
}
