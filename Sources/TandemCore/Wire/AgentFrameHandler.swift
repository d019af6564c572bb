import Foundation
import NIOCore

/// Turns the agent link's length-prefixed JSON frames into `AgentMessage`s, then steps aside.
///
/// Once a message that starts SSH has been read (`switchesToSSH`), every later byte —
/// including bytes already buffered — is passed on untouched for the SSH handler.
public final class AgentFrameHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = AgentMessage

    public static let maxFrameSize = 64 * 1024

    private var buffer: ByteBuffer?
    private var passthrough = false
    private let switchesToSSH: (AgentMessage) -> Bool

    public init(switchesToSSH: @escaping (AgentMessage) -> Bool) {
        self.switchesToSSH = switchesToSSH
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let incoming = unwrapInboundIn(data)
        if passthrough {
            context.fireChannelRead(data)
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
            context.fireChannelRead(NIOAny(rest))
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
