import Foundation
import TandemCore

/// Whom a forwarded channel acts for: the technician the forwarding replica logged in. It travels
/// as an environment request (swift-nio-ssh keeps no name for custom channel requests), first on
/// the channel, and is believed only on the peer link, where the other side proved it is a replica.
struct OnBehalf: Codable, Sendable, Equatable {
    /// The technician's user name.
    var user: String
    /// The fingerprint of the key they logged in with (a resume is bound to it).
    var key: String?
    /// Their address, as the replica they reached saw it.
    var from: String
    /// The session a stock client named through `tandem proxy`, if it did.
    var target: String?
    /// The replica that forwards the channel.
    var via: String

    static let variable = "TANDEM_ON_BEHALF"
    /// The most a replica sends; longer is not one of ours.
    static let maxBytes = 4096

    var encoded: String {
        String(decoding: (try? JSONEncoder.sorted.encode(self)) ?? Data(), as: UTF8.self)
    }

    static func decode(_ text: String) throws(TandemError) -> OnBehalf {
        guard text.utf8.count <= maxBytes else { throw .protocolViolation("an on-behalf request longer than \(maxBytes) bytes") }
        let value: OnBehalf
        do {
            value = try JSONDecoder().decode(OnBehalf.self, from: Data(text.utf8))
        } catch {
            throw .protocolViolation("an on-behalf request that is not the expected JSON")
        }
        guard !value.user.isEmpty, value.user.utf8.count <= 64, value.from.utf8.count <= 200, value.via.utf8.count <= 64,
              (value.key?.utf8.count ?? 0) <= 128, (value.target?.utf8.count ?? 0) <= 64 else {
            throw .protocolViolation("an on-behalf request with a field out of bounds")
        }
        return value
    }
}

extension JSONEncoder {
    fileprivate static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// The peer link's decoders (on-behalf, agent forward), for the fuzz targets (they read what
/// another replica sent).
public enum PeerLinkProbe {
    public static func parse(_ text: String) {
        if let value = try? OnBehalf.decode(text) { _ = value.encoded }
        if let value = try? AgentForward.decode(text) { _ = value.encoded }
    }
}
