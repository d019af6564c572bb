import TandemCore

/// The `~/.ssh/config` block `tandem ssh-config` prints: stock ssh, sftp, scp and rsync reach a
/// session through `tandem proxy`, and ssh itself checks the broker's SSH host key.
///
/// The host key goes into a known-hosts file of Tandem's own (`knownHostsLine`, under a
/// `HostKeyAlias`) that the block names, so a changed broker key stops ssh with its own warning.
/// Not `KnownHostsCommand`: OpenSSH before 8.5 rejects the whole config file over an unknown
/// keyword, even in a block that does not apply.
struct SSHConfigBlock {
    var tandemPath: String
    var broker: BrokerAddress
    var ca: String?
    var user: String
    var identity: String?
    /// `ssh-ed25519 AAAA…`, read from the broker and checked against the pinned fingerprint.
    var hostKey: String
    var fingerprint: String
    var knownHostsFile: String

    /// Session ids only (`s-` or `tandem-` and 8 characters), so the block claims no other host;
    /// never a name with shell characters, which an OpenSSH before 9.6 would hand to the
    /// ProxyCommand's shell as they are (a hostile submodule URL, CVE-2023-51385).
    static let hostPatterns = "s-???????? tandem-???????? tandem-s-???????? !*`* !*$* !*;* !*|* !*&* !*(* !*)* !*<* !*>* !*{* !*}*"

    /// The name ssh files the broker's key under, whatever session host was typed.
    var alias: String {
        let host = broker.host.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? String($0) : "-" }.joined()
        return "tandem.\(host).\(broker.port)"
    }

    /// The broker's line in `knownHostsFile`.
    var knownHostsLine: String { "\(alias) \(hostKey)" }

    func render() throws(TandemError) -> String {
        for (what, value) in [("the tandem program's path", tandemPath), ("the CA path", ca ?? ""), ("the user name", user),
                              ("the key path", identity ?? ""), ("the broker address", broker.description),
                              ("the known-hosts path", knownHostsFile)] {
            try Self.checkPlain(value, what)
        }
        let keyWords = hostKey.split(separator: " ")
        guard keyWords.count == 2, keyWords.allSatisfy({ $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-@.+/=".contains($0)) } }) else {
            throw .invalidArgument("the broker's host key is not a plain OpenSSH key line")
        }
        var proxy = [tandemPath, "proxy", "--broker", broker.description]
        if let ca { proxy += ["--ca", ca] }
        var lines = [
            "# Tandem: ssh, sftp, scp and rsync into sessions a user approved, through the broker at \(broker).",
            "# From 'tandem ssh-config'; run it again if the broker, its key, your key or the tandem program moves.",
            "Host \(Self.hostPatterns)",
            "    User \(Self.configWord(user))",
            "    ProxyCommand \(proxy.map(shellQuote).joined(separator: " ")) %h",
            "    # The broker's SSH host key (\(fingerprint)); ssh checks it and refuses another:",
            "    #   \(knownHostsLine)",
            "    HostKeyAlias \(alias)",
            "    UserKnownHostsFile \(Self.configWord(knownHostsFile))",
            "    GlobalKnownHostsFile /dev/null",
            "    StrictHostKeyChecking yes",
            "    UpdateHostKeys no",
        ]
        if let identity { lines.append("    IdentityFile \(Self.configWord(identity))") }
        lines += [
            "    # The broker forwards neither your agent nor ports.",
            "    ForwardAgent no",
            "    ForwardX11 no",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// `existing` (a known-hosts file's text) with this broker's line in place of any older one.
    func mergedKnownHosts(_ existing: String) -> String {
        let kept = existing.split(separator: "\n", omittingEmptySubsequences: true).filter { !$0.hasPrefix(alias + " ") }
        return (kept.map(String.init) + [knownHostsLine]).joined(separator: "\n") + "\n"
    }

    /// ssh expands `%` tokens and splits on quotes; a shell runs the ProxyCommand. Rather than
    /// escape for three readers, such characters are refused with the way out.
    private static func checkPlain(_ value: String, _ what: String) throws(TandemError) {
        if let bad = value.unicodeScalars.first(where: { $0.value < 32 || $0.value == 127 || "%\"'\\`$".unicodeScalars.contains($0) }) {
            throw .invalidArgument("\(what) holds '\(bad.value < 32 || bad.value == 127 ? "a control character" : String(bad))', which an ssh config cannot carry safely: use a path or name without it")
        }
    }

    private static func configWord(_ value: String) -> String {
        value.contains(" ") ? "\"\(value)\"" : value
    }
}
