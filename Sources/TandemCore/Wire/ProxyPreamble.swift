/// The line `tandem proxy` sends before the stock SSH client's bytes: which session it is for.
///
/// SSH carries no host name, so the session the technician typed (`ssh s-7f3a9c2e`) travels
/// here, once, right after TLS: `TANDEM-PROXY/1 s-7f3a9c2e 0123…(32 hex)\n`. The nonce marks the
/// broker's closing notice (`ProxyNotice`) so the proxy can tell it from SSH bytes.
public struct ProxyPreamble: Equatable, Sendable {
    public let session: SessionID
    public let nonce: String

    public static let magic = "TANDEM-PROXY/1 "
    /// A whole preamble is 59 bytes; anything longer without a newline is not one.
    public static let maxBytes = 96
    static let nonceLength = 32

    public init(session: SessionID, nonce: String) {
        self.session = session
        self.nonce = nonce
    }

    /// A preamble with a fresh random nonce.
    public static func make(for session: SessionID) -> ProxyPreamble {
        var rng = SystemRandomNumberGenerator()
        let hex = (0..<16).map { _ in
            let byte = UInt8.random(in: 0...255, using: &rng)
            return String(byte >> 4, radix: 16) + String(byte & 0xf, radix: 16)
        }.joined()
        return ProxyPreamble(session: session, nonce: hex)
    }

    public var line: String { Self.magic + session.rawValue + " " + nonce + "\n" }

    /// What the first bytes of a technician's connection are.
    public enum Start: Equatable, Sendable {
        /// Not enough bytes yet to tell.
        case undecided
        /// An SSH client speaking first (the `tandem` CLI): no preamble.
        case ssh
        /// A preamble line of `length` bytes, newline included.
        case preamble(ProxyPreamble, length: Int)
    }

    /// Classifies the start of a connection; throws when it is neither SSH nor a valid preamble.
    public static func classify(_ bytes: some Collection<UInt8>) throws(TandemError) -> Start {
        let prefix = Array(bytes.prefix(maxBytes))
        let magic = Array(Self.magic.utf8)
        let ssh = Array("SSH-".utf8)
        if prefix.starts(with: ssh) { return .ssh }
        if ssh.starts(with: prefix) { return .undecided }
        let shown = min(prefix.count, magic.count)
        guard prefix.prefix(shown).elementsEqual(magic.prefix(shown)) else {
            throw .invalidArgument("the connection began with neither SSH nor a Tandem proxy line")
        }
        guard let newline = prefix.firstIndex(of: 10) else {
            if prefix.count >= maxBytes { throw .frameTooLarge(prefix.count, limit: maxBytes) }
            return .undecided
        }
        guard newline >= magic.count else { throw .invalidArgument("a Tandem proxy line holds a session id and a nonce") }
        let rest = prefix[magic.count..<newline]
        let words = rest.split(separator: 32, omittingEmptySubsequences: false)
        guard words.count == 2 else { throw .invalidArgument("a Tandem proxy line holds a session id and a nonce") }
        let session = try SessionID.parse(String(decoding: words[0], as: UTF8.self))
        let nonce = words[1]
        guard nonce.count == nonceLength, nonce.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw .invalidArgument("a Tandem proxy line's nonce is 32 lowercase hex digits")
        }
        return .preamble(ProxyPreamble(session: session, nonce: String(decoding: nonce, as: UTF8.self)), length: newline + 1)
    }
}

/// The broker's last words to `tandem proxy` after the SSH client gave up without logging in:
/// why, in a line the proxy prints (the SSH protocol has no place for them at that point).
public enum ProxyNotice {
    /// At most this much text after the marker is read; the rest is ignored.
    public static let maxBytes = 2048

    public static func marker(_ nonce: String) -> [UInt8] { Array("\nTANDEM-NOTICE/1 \(nonce) ".utf8) }

    /// The bytes the broker writes: the marker, the text (one line) and a newline.
    public static func encode(_ text: String, nonce: String) -> [UInt8] {
        let oneLine = text.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : String($0) }.joined()
        return marker(nonce) + Array(oneLine.utf8.prefix(maxBytes - 1)) + [10]
    }

    /// Finds a whole notice in what arrived after the SSH client was gone; nil while there is none (yet).
    public static func find(in bytes: [UInt8], nonce: String) -> String? {
        let mark = marker(nonce)
        guard bytes.count >= mark.count else { return nil }
        var start: Int?
        for i in 0...(bytes.count - mark.count) where bytes[i] == mark[0] && Array(bytes[i..<(i + mark.count)]) == mark {
            start = i + mark.count
            break
        }
        guard let start else { return nil }
        let body = bytes[start...].prefix(maxBytes)
        guard let end = body.firstIndex(of: 10) else {
            return body.count >= maxBytes ? String(decoding: body, as: UTF8.self) : nil
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// The host name a stock SSH client was given for a session: `s-7f3a9c2e`, `tandem-7f3a9c2e` or
/// `tandem-s-7f3a9c2e` (the alias for ssh configs where `s-*` means other hosts).
public enum SessionHost {
    public static func parse(_ host: String) throws(TandemError) -> SessionID {
        let lower = host.lowercased()
        var name = Substring(lower)
        if name.hasPrefix("tandem-") {
            name = name.dropFirst("tandem-".count)
            if !name.hasPrefix("s-") { name = "s-" + name }
        }
        guard let id = try? SessionID.parse(String(name)) else {
            throw .invalidArgument("'\(host.prefix(60))' is not a Tandem session host: use the session id, like s-7f3a9c2e (or tandem-7f3a9c2e)")
        }
        return id
    }
}
