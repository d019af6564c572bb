import NIOCore
import NIOSSH

/// The broker's SSH client connection to one approved agent.
///
/// Holds only the parent `Channel` (which is Sendable) and reaches the
/// `NIOSSHHandler` on that channel's event loop when a new channel is needed.
public struct AgentLink: Sendable {
    public let channel: Channel

    /// Opens a session channel to the agent and installs `initializer` in it.
    public func openSessionChannel(
        _ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<Channel> {
        let loop = channel.eventLoop
        let parent = channel
        return loop.flatSubmit {
            let promise = loop.makePromise(of: Channel.self)
            do {
                let ssh = try parent.pipeline.syncOperations.handler(type: NIOSSHHandler.self)
                ssh.createChannel(promise, channelType: .session) { child, _ in initializer(child) }
            } catch {
                promise.fail(error)
            }
            return promise.futureResult
        }
    }

    public func close() { channel.close(promise: nil) }
}
