import Foundation
import NIOCore

/// Turns the agent link's length-prefixed JSON frames into `AgentMessage`s, then steps aside.
///
/// Once a message that starts SSH has been read (`switchesToSSH`), every later byte —
/// including bytes already buffered — is passed on untouched for the SSH handler. With
/// `holdsUntilReleased`, those bytes wait here (at most `maxHeldBytes`) until `release()`: the
/// handler after this one reads messages, not bytes, and the SSH handler that takes bytes may
/// come only after a check that suspends (a returning agent's token); bytes sent early by a
/// hostile agent must not reach a handler that cannot read them.
public final class AgentFrameHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = AgentMessage

    public static let maxFrameSize = 64 * 1024
    /// Most bytes held after the switch before the connection is refused.
    public static let maxHeldBytes = 256 * 1024

    private var buffer: ByteBuffer?
    private var passthrough = false
    private let switchesToSSH: (AgentMessage) -> Bool
    private let holdsUntilReleased: Bool
    private var released = false
    private var held: ByteBuffer?
    private var context: ChannelHandlerContext?

    public init(holdsUntilReleased: Bool = false, switchesToSSH: @escaping (AgentMessage) -> Bool) {
        self.holdsUntilReleased = holdsUntilReleased
        self.switchesToSSH = switchesToSSH
    }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    public func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// The handler for the bytes after the switch is in place: what was held goes to it, and
    /// everything after. Call on the channel's event loop.
    public func release() {
        guard !released else { return }
        released = true
        guard let context, let rest = held, rest.readableBytes > 0 else { return }
        held = nil
        context.fireChannelRead(NIOAny(rest))
        context.fireChannelReadComplete()
    }

    /// After the switch: on to the next handler, or held until `release()`.
    private func passOn(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        guard holdsUntilReleased, !released else { return context.fireChannelRead(NIOAny(bytes)) }
        var bytes = bytes
        if held == nil { held = bytes } else { held!.writeBuffer(&bytes) }
        if (held?.readableBytes ?? 0) > Self.maxHeldBytes {
            held = nil
            context.fireErrorCaught(TandemError.frameTooLarge(Self.maxHeldBytes + 1, limit: Self.maxHeldBytes))
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let incoming = unwrapInboundIn(data)
        if passthrough {
            passOn(incoming, context: context)
            return
        }
        if buffer == nil { buffer = incoming } else { var b = incoming; buffer!.writeBuffer(&b) }
        do {
            while !passthrough, let message = try nextMessage() {
                if switchesToSSH(message) { passthrough = true }
                context.fireChannelRead(wrapInboundOut(message))
            }
        } catch {
            buffer = nil
            context.fireErrorCaught(error)
            return
        }
        if passthrough, let rest = buffer, rest.readableBytes > 0 {
            buffer = nil
            passOn(rest, context: context)
        }
    }

    private func nextMessage() throws -> AgentMessage? {
        guard var buf = buffer, let length = buf.getInteger(at: buf.readerIndex, as: UInt32.self) else { return nil }
        guard length <= Self.maxFrameSize else {
            throw TandemError.frameTooLarge(Int(length), limit: Self.maxFrameSize)
        }
        guard buf.readableBytes >= 4 + Int(length) else { return nil }
        buf.moveReaderIndex(forwardBy: 4)
        let body = buf.readSlice(length: Int(length))!
        buffer = buf.readableBytes > 0 ? buf : nil
        do {
            return try JSONDecoder().decode(AgentMessage.self, from: Data(body.readableBytesView))
        } catch {
            throw TandemError.malformedFrame("not a valid agent message")
        }
    }

    /// Encodes one frame for the wire.
    public static func encode(_ message: AgentMessage, allocator: ByteBufferAllocator) -> ByteBuffer {
        let json = (try? JSONEncoder().encode(message)) ?? Data()
        var out = allocator.buffer(capacity: 4 + json.count)
        out.writeInteger(UInt32(json.count))
        out.writeBytes(json)
        return out
    }
}

@available(*, unavailable)
extension AgentFrameHandler: Sendable {}
