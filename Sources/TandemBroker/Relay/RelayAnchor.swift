import NIOCore
import Synchronization

/// The parts of one relay that outlive the channels it runs on: the agent's side of it now (a
/// new one after the agent comes back), the technician's channel now (a new one after they come
/// back, where a pair's typing goes), and the bytes the technician typed themselves.
final class RelayAnchor: Sendable {
    private let agentSideNow = Mutex<NIOLoopBound<AgentSideRelayHandler>?>(nil)
    private let ownerNow: Mutex<Channel>
    private let typed = Atomic<UInt64>(0)

    init(owner: Channel) { ownerNow = Mutex(owner) }

    /// The agent-side handler, reachable even after its channel closed and left the pipeline.
    var agentSide: NIOLoopBound<AgentSideRelayHandler>? { agentSideNow.withLock { $0 } }
    func setAgentSide(_ handler: NIOLoopBound<AgentSideRelayHandler>) { agentSideNow.withLock { $0 = handler } }

    var owner: Channel { ownerNow.withLock { $0 } }
    func setOwner(_ channel: Channel) { ownerNow.withLock { $0 = channel } }

    /// Bytes the technician typed themselves (not a pair): what their client counts for a resume.
    var ownInput: UInt64 { typed.load(ordering: .relaxed) }
    func typedByOwner(_ n: Int) { typed.add(UInt64(n), ordering: .relaxed) }
}
