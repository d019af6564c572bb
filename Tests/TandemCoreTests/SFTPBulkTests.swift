import XCTest

@testable import TandemCore

/// The relay's zero-copy reading of WRITE and DATA, on good and bad packets.
final class SFTPBulkTests: XCTestCase {
    /// A packet's body (type byte onwards), as the framer hands it over.
    private func body(_ m: SFTPMessage) -> ArraySlice<UInt8> { SFTPCodec.encode(m).dropFirst(4) }

    func testWriteAndDataAreReadInPlace() throws {
        let content = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let w = try XCTUnwrap(SFTPCodec.bulk(body(.write(id: 7, handle: [1, 2], offset: 1 << 33, data: content))))
        XCTAssertEqual(w.id, 7)
        XCTAssertEqual(w.handle, [1, 2])
        XCTAssertEqual(w.offset, 1 << 33)
        XCTAssertEqual(Array(w.data), content)
        let d = try XCTUnwrap(SFTPCodec.bulk(body(.data(id: 9, data: content))))
        XCTAssertEqual(d.id, 9)
        XCTAssertNil(d.handle)
        XCTAssertEqual(Array(d.data), content)
    }

    func testOtherAndMalformedPacketsAreLeftToTheFullDecoder() {
        XCTAssertNil(SFTPCodec.bulk(body(.read(id: 1, handle: [1], offset: 0, length: 10))))
        XCTAssertNil(SFTPCodec.bulk(body(.status(id: 1, code: 0, message: "ok"))))
        var truncated = Array(body(.data(id: 3, data: Array(repeating: 0x41, count: 64))))
        truncated.removeLast(10)  // the length field now promises more than the packet holds
        XCTAssertNil(SFTPCodec.bulk(truncated[...]))
        XCTAssertThrowsError(try SFTPCodec.decode(truncated[...]), "and the decoder reports it")
        XCTAssertNil(SFTPCodec.bulk([6, 0, 0][...]), "a WRITE cut inside its id")
        XCTAssertNil(SFTPCodec.bulk([][...]))
    }
}
