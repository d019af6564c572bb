import Foundation
import NIOCore
import NIOEmbedded
@preconcurrency import Crypto
import TandemAPI
import TandemAudit
import TandemHelpdesk
import TandemBroker
import TandemCore
import TandemText

/// Every parser that reads bytes from another party, as one entry point per fuzz target.
///
/// The libFuzzer executables in `fuzz/` call `run` with each generated input; the normal
/// test suite calls it with every input kept in `fuzz/regressions/<target>/`, so a crash
/// once found stays fixed. A target passes when `run` returns: any trap is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// SFTP packets from the agent or the technician (framer, full decoder, in-place bulk reader).
    case sftpCodec = "sftp-codec"
    /// The agent link's length-prefixed JSON frames, through the real channel handler.
    case agentFrames = "agent-frames"
    /// A technician's control command line.
    case controlCommand = "control-command"
    /// An audit bundle an auditor was handed (tar reader, events, checkpoints, verification).
    case auditBundle = "audit-bundle"
    /// A terminal recording, parsed and played through the replay filter and the escaper, and
    /// through the live view's screen-only filter.
    case asciicast
    /// `key = value` config files.
    case config
    /// What a helpdesk answers (Request Tracker's and Redmine's JSON, the checkpoint lines in its
    /// notes, compared with a chain) and a technician's ticket name.
    case helpdesk
    /// What a browser sends the web console: its Cookie header, a form body, the tickets search.
    case console
    /// The first bytes of a technician's connection (the `tandem proxy` line), the broker's closing
    /// notice as the proxy reads it, a session host name, an rsync server command line, a load
    /// balancer's PROXY v2 header, and another replica's on-behalf request.
    case proxy

    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .sftpCodec: Self.sftp(bytes)
        case .agentFrames: Self.agentFrames(bytes)
        case .controlCommand: ControlRequestProbe.parse(String(decoding: bytes, as: UTF8.self))
        case .auditBundle:
            if let bundle = try? AuditBundle.open(Data(bytes)) { _ = bundle.verify() }
        case .asciicast: Self.asciicast(bytes)
        case .config: _ = try? KeyValueConfig(parsing: String(decoding: bytes, as: UTF8.self), source: "fuzz")
        case .helpdesk: Self.helpdesk(bytes)
        case .console: ConsoleProbe.parse(Array(bytes))
        case .proxy: Self.proxy(Array(bytes))
        }
    }

    private static func proxy(_ bytes: [UInt8]) {
        // As the broker sees them arrive: a byte at a time until it can tell.
        for end in 0...min(bytes.count, ProxyPreamble.maxBytes + 1) {
            if case .undecided? = try? ProxyPreamble.classify(bytes.prefix(end)) { continue }
            break
        }
        _ = ProxyNotice.find(in: bytes, nonce: String(repeating: "0", count: 32))
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? SessionHost.parse(text)
        _ = RsyncServerLine.isTransfer(text)
        // As the header arrives: a byte at a time until it is whole or refused.
        for end in 0...min(bytes.count, 16 + ProxyHeaderV2.maxAddressBytes) {
            guard case .needMore? = try? ProxyHeaderV2.parse(bytes.prefix(end)) else { break }
        }
        PeerLinkProbe.parse(text)
    }

    private static func helpdesk(_ bytes: UnsafeRawBufferPointer) {
        let data = Data(bytes)
        let text = String(decoding: data, as: UTF8.self)
        _ = RequestTracker.parseTicket(data)
        _ = RequestTracker.parseAttachments(data)
        _ = Redmine.probe(data)
        _ = TicketReference(text)
        let anchors = CheckpointLine.parse(text)
        // Any key: the lines the fuzzer makes are not signed by it, which is the case to exercise.
        _ = HelpdeskAnchors.compare(chain: anchors.first?.chain ?? 1, events: [], anchors: anchors,
                                    publicKey: Curve25519.Signing.PrivateKey().publicKey, where: "fuzz")
    }

    private static func sftp(_ bytes: UnsafeRawBufferPointer) {
        // The technician's stream as the files:ask gate frames it.
        SFTPConsentProbe.run(Array(bytes))
        var framer = SFTPCodec.Framer()
        // Split in two, so a packet that straddles reads is exercised too.
        let cut = bytes.count / 2
        framer.append(UnsafeRawBufferPointer(rebasing: bytes[..<cut]))
        framer.append(UnsafeRawBufferPointer(rebasing: bytes[cut...]))
        while let body = try? framer.next() {
            _ = SFTPCodec.bulk(body)
            if let message = try? SFTPCodec.decode(body) {
                _ = SFTPCodec.encode(message)
                if case .name(_, let names) = message {
                    for n in names { _ = RemoteName.problem(n.filename); _ = TerminalText.escape(n.longname) }
                }
            }
        }
    }

    private static func agentFrames(_ bytes: UnsafeRawBufferPointer) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        guard (try? channel.pipeline.syncOperations.addHandler(AgentFrameHandler { _ in false })) != nil else { return }
        _ = try? channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        while let message = try? channel.readInbound(as: AgentMessage.self) {
            if case .offer(let offer) = message { _ = TerminalText.field(offer.ticketTitle) }
        }
        // A question from the broker during the session, as the agent reads it.
        if let question = try? ConsentQuestion.decode(Array(bytes)) { _ = TerminalText.field(question.path ?? question.who) }
        if let people = try? SessionPeople.decode(Array(bytes)) { for p in people.people { _ = TerminalText.field(p.who) } }
        // The first line of a channel that takes a relay up again, read by both sides.
        if let (line, _) = try? ResumeLine.parse(Array(bytes)), case .refused(let why) = line { _ = TerminalText.field(why) }
    }

    private static func asciicast(_ bytes: UnsafeRawBufferPointer) {
        guard let cast = try? Asciicast.parse(Data(bytes)) else { return }
        var filter = ReplayFilter()
        // The agent's live view: the same output through its second, allow-list filter.
        var screen = ScreenOnlyFilter(rows: 23)
        for frame in cast.frames {
            let replayed = filter.filter(frame.data)
            _ = TerminalText.escape(replayed, .multiLine)
            _ = screen.filter(replayed)
        }
    }
}
