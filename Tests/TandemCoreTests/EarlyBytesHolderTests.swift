import NIOCore
import NIOEmbedded
import XCTest

@testable import TandemCore

/// Bytes the broker sends before the CLI's bridge exists must reach libssh, in order.
final class EarlyBytesHolderTests: XCTestCase {
    func testBytesBeforeTheBridgeArriveAfterItInOrder() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(EarlyBytesHolder())
        try channel.writeInbound(ByteBuffer(string: "SSH-2.0-SwiftNIOSSH_1.0\r\n"))
        try channel.writeInbound(ByteBuffer(string: "kexinit"))
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self), "held until the bridge is there")

        channel.pipeline.fireUserInboundEventTriggered(TLSTunnel.Bridged())
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) }, "SSH-2.0-SwiftNIOSSH_1.0\r\n")
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) }, "kexinit")
        try channel.writeInbound(ByteBuffer(string: "later"))
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) }, "later", "then out of the way")
        XCTAssertThrowsError(try channel.pipeline.syncOperations.handler(type: EarlyBytesHolder.self))
        _ = try channel.finish()
    }
}
