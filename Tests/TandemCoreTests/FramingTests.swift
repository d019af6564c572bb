import NIOCore
import NIOEmbedded
import TandemCore
import XCTest

final class AgentFrameHandlerTests: XCTestCase {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(AgentFrameHandler { if case .startSSH = $0 { return true } else { return false } })
        return channel
    }

    func testFramesSplitAcrossReadsAreReassembled() throws {
        let channel = try self.channel()
        let frame = AgentFrameHandler.encode(.join(JoinRequest(code: "123456789", hostname: "pc", username: "jane")), allocator: channel.allocator)
        var first = frame.getSlice(at: 0, length: 3)!
        let second = frame.getSlice(at: 3, length: frame.readableBytes - 3)!
        try channel.writeInbound(first)
        XCTAssertNil(try channel.readInbound(as: AgentMessage.self))
        try channel.writeInbound(second)
        XCTAssertEqual(try channel.readInbound(as: AgentMessage.self), .join(JoinRequest(code: "123456789", hostname: "pc", username: "jane")))
        first.clear()
    }

    func testOversizedFrameIsAnError() throws {
        let channel = try self.channel()
        var buffer = channel.allocator.buffer(capacity: 8)
        buffer.writeInteger(UInt32(AgentFrameHandler.maxFrameSize + 1))
        XCTAssertThrowsError(try channel.writeInbound(buffer)) { error in
            XCTAssertEqual(error as? TandemError, .frameTooLarge(AgentFrameHandler.maxFrameSize + 1, limit: AgentFrameHandler.maxFrameSize))
        }
    }

    func testGarbageIsAMalformedFrame() throws {
        let channel = try self.channel()
        var buffer = channel.allocator.buffer(capacity: 16)
        buffer.writeInteger(UInt32(5))
        buffer.writeString("{{{{{")
        XCTAssertThrowsError(try channel.writeInbound(buffer)) { error in
            XCTAssertEqual(error as? TandemError, .malformedFrame("not a valid agent message"))
        }
    }

    func testBytesAfterTheSwitchPassThroughUntouched() throws {
        let channel = try self.channel()
        var buffer = AgentFrameHandler.encode(.startSSH, allocator: channel.allocator)
        buffer.writeString("SSH-2.0-libssh\r\n")
        try channel.writeInbound(buffer)
        XCTAssertEqual(try channel.readInbound(as: AgentMessage.self), .startSSH)
        var rest = try XCTUnwrap(try channel.readInbound(as: ByteBuffer.self))
        XCTAssertEqual(rest.readString(length: rest.readableBytes), "SSH-2.0-libssh\r\n")
        var more = channel.allocator.buffer(capacity: 4)
        more.writeBytes([0, 0, 0, 200])
        try channel.writeInbound(more)
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self)?.readableBytes, 4, "no frame parsing after the switch")
    }
}

final class ConfigParsingTests: XCTestCase {
    func testKeyValueConfig() throws {
        let c = try KeyValueConfig(parsing: "# agent\nbroker = help.example.com:8443\n\nca=/etc/tandem/ca.crt\n", source: "t")
        XCTAssertEqual(c["broker"], "help.example.com:8443")
        XCTAssertEqual(c["ca"], "/etc/tandem/ca.crt")
        XCTAssertThrowsError(try KeyValueConfig(parsing: "broker help", source: "t"))
    }

    func testBrokerAddressAndScopes() throws {
        XCTAssertEqual(try BrokerAddress(parsing: "127.0.0.1:8443"), BrokerAddress(host: "127.0.0.1", port: 8443))
        for bad in ["nohost", ":8443", "h:0", "h:99999", "h:x"] { XCTAssertThrowsError(try BrokerAddress(parsing: bad), bad) }
        XCTAssertEqual(try Scope.parseList("files,shell,shell"), [.files, .shell])
        XCTAssertThrowsError(try Scope.parseList("root"))
        XCTAssertThrowsError(try SessionID.parse("../../etc"))
        XCTAssertNoThrow(try SessionID.parse(SessionID.random().rawValue))
    }
}
