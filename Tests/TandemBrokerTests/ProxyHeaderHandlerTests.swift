import Logging
import NIOCore
import NIOEmbedded
@testable import TandemBroker
import TandemCore
import XCTest

/// A connection from a `proxy-from` address: the header names the client, whatever follows passes whole.
final class ProxyHeaderHandlerTests: XCTestCase {
    private let header: [UInt8] = ProxyHeaderV2.signature + [0x21, 0x11, 0x00, 0x0C,
        192, 0, 2, 7, 127, 0, 0, 1, 0xC7, 0x38, 0x20, 0xFB]

    private func connected() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ProxyHeaderHandler(logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        return channel
    }

    func testTheHeaderNamesTheClientAndWhatFollowsPassesWhole() throws {
        let channel = try connected()
        XCTAssertEqual(channel.peerText, "127.0.0.1:40000", "before the header, the balancer's own address")
        // A byte at a time, the header and the first bytes of TLS.
        for byte in header + Array("hello".utf8) { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        XCTAssertEqual(channel.peerText, "192.0.2.7:51000")
        XCTAssertEqual(channel.clientIP, "192.0.2.7")
        var passed = ByteBuffer()
        while var part: ByteBuffer = try channel.readInbound() { passed.writeBuffer(&part) }
        XCTAssertEqual(String(buffer: passed), "hello")
        XCTAssertThrowsError(try channel.pipeline.syncOperations.handler(type: ProxyHeaderHandler.self), "it stepped aside")
        _ = try channel.finish()
        XCTAssertNil(ClientAddressBook.shared.source(of: channel), "forgotten with the connection")
    }

    func testAConnectionWithoutAHeaderIsDropped() throws {
        let channel = try connected()
        try channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00]))
        XCTAssertFalse(channel.isActive)
        XCTAssertNil(try channel.readInbound(as: ByteBuffer.self), "nothing of it reached TLS")
    }
}
