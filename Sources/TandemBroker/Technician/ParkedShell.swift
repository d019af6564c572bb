import Foundation
import NIOCore
import NIOSSH
import Synchronization
import TandemCore

/// A shell whose technician's connection dropped: what its relay needs, kept while the session
/// waits for them, then handed to the channel that takes it up, or ended at the grace's end.
final class ParkedShell: Sendable {
    let session: SessionID
    let ticket: Int
    /// Who may take it up: the same user, with the same key.
    let user: String
    let loginKey: String?
    let agent: Channel
    let recorder: AsciicastRecorder?
    let counter: RelayCounter
    let activity: SessionActivity
    let tag: Int
    let inputLog: ReplayLog
    let outputLog: SentLog?
    let anchor: RelayAnchor
    let watchToken: Int?
    /// SHA-256 of the client's secret for taking it up.
    let tokenHash: [UInt8]
    let since: Date
    private let done = Atomic<Bool>(false)

    init(session: SessionID, ticket: Int, user: String, loginKey: String?, agent: Channel, recorder: AsciicastRecorder?,
         counter: RelayCounter, activity: SessionActivity, tag: Int, inputLog: ReplayLog, outputLog: SentLog?, anchor: RelayAnchor, watchToken: Int?, tokenHash: [UInt8],
         since: Date) {
        self.session = session
        self.ticket = ticket
        self.user = user
        self.loginKey = loginKey
        self.agent = agent
        self.recorder = recorder
        self.counter = counter
        self.activity = activity
        self.tag = tag
        self.inputLog = inputLog
        self.outputLog = outputLog
        self.anchor = anchor
        self.watchToken = watchToken
        self.tokenHash = tokenHash
        self.since = since
    }

    /// The same shell, waiting again under the secret its client named for next time (the channel
    /// that was taking it up went too).
    func again(tokenHash: [UInt8], watchToken: Int?) -> ParkedShell {
        ParkedShell(session: session, ticket: ticket, user: user, loginKey: loginKey, agent: agent, recorder: recorder, counter: counter,
                    activity: activity, tag: tag, inputLog: inputLog, outputLog: outputLog, anchor: anchor, watchToken: watchToken,
                    tokenHash: tokenHash, since: since)
    }

    /// Taken by the channel that takes it up, or ended: only one of them, once.
    func claim() -> Bool { !done.exchange(true, ordering: .relaxed) }

    /// Nobody came back for it: the shell on the user's machine is closed and its end recorded.
    func end(broker: Broker) async {
        agent.close(promise: nil)
        await TechnicianChannelHandler.recordEnd(broker: broker, session: session, ticket: ticket, kind: "shell", recorder: recorder,
                                                 counter: counter, actor: user, watchToken: watchToken)
    }
}
