import TandemCore
import XCTest

/// The PROXY v2 header haproxy's `send-proxy-v2` puts before a connection's first byte.
final class ProxyHeaderV2Tests: XCTestCase {
    /// A header as haproxy sends it: PROXY, TCP over IPv4, 192.0.2.7:51000 to 198.51.100.1:8443, one TLV.
    static let ipv4: [UInt8] = ProxyHeaderV2.signature + [0x21, 0x11, 0x00, 0x10,
        192, 0, 2, 7, 198, 51, 100, 1, 0xC7, 0x38, 0x20, 0xFB,
        0x03, 0x00, 0x01, 0x00]

    func testAnIPv4HeaderNamesTheClientAndSaysHowLongItWas() throws {
        guard case .header(let header) = try ProxyHeaderV2.parse(Self.ipv4 + Array("TLS...".utf8)) else { return XCTFail("not read") }
        XCTAssertEqual(header.source?.address, "192.0.2.7")
        XCTAssertEqual(header.source?.port, 51000)
        XCTAssertEqual(header.length, Self.ipv4.count, "the TLV is part of the header; what follows is not")
        // Arriving a byte at a time: more is needed until the last byte of the header.
        for cut in 0..<Self.ipv4.count {
            XCTAssertEqual(try ProxyHeaderV2.parse(Self.ipv4.prefix(cut)), .needMore, "cut at \(cut)")
        }
    }

    func testAnIPv6HeaderAndALocalOne() throws {
        var v6 = ProxyHeaderV2.signature + [0x21, 0x21, 0x00, 0x24]
        v6 += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x01]
        v6 += [UInt8](repeating: 0, count: 15) + [0x02] + [0x01, 0xBB, 0x20, 0xFB]
        guard case .header(let header) = try ProxyHeaderV2.parse(v6) else { return XCTFail("not read") }
        XCTAssertEqual(header.source?.address, "2001:db8:0:0:0:0:0:1")
        XCTAssertEqual(header.source?.port, 443)
        // haproxy's own checks say LOCAL: no client to take, the balancer's address stands.
        let local = ProxyHeaderV2.signature + [0x20, 0x00, 0x00, 0x00]
        XCTAssertEqual(try ProxyHeaderV2.parse(local), .header(ProxyHeaderV2(source: nil, length: 16)))
    }

    func testAnythingElseIsRefusedWithAReason() {
        let cases: [(String, [UInt8])] = [
            ("a TLS hello with no header", [0x16, 0x03, 0x01, 0x02, 0x00]),
            ("PROXY v1 text", Array("PROXY TCP4 192.0.2.7 198.51.100.1 51000 8443\r\n".utf8)),
            ("version 1 in a v2 frame", ProxyHeaderV2.signature + [0x11, 0x11, 0x00, 0x0C] + [UInt8](repeating: 0, count: 12)),
            ("an unknown command", ProxyHeaderV2.signature + [0x22, 0x11, 0x00, 0x0C] + [UInt8](repeating: 0, count: 12)),
            ("an address block over the limit", ProxyHeaderV2.signature + [0x21, 0x11, 0xFF, 0xFF]),
            ("too short for IPv4", ProxyHeaderV2.signature + [0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4]),
        ]
        for (what, bytes) in cases {
            XCTAssertThrowsError(try ProxyHeaderV2.parse(bytes), what) { error in
                XCTAssertTrue("\(error)".contains("PROXY"), "\(what): \(error)")
            }
        }
    }
}

/// `proxy-from` addresses compare with a socket's however either is spelt.
final class IPAddressTextTests: XCTestCase {
    func testOneSpellingPerAddress() {
        XCTAssertEqual(IPAddressText.normalized("127.0.0.1"), "127.0.0.1")
        XCTAssertEqual(IPAddressText.normalized("::ffff:10.0.0.5"), "10.0.0.5", "an IPv4 balancer seen on an IPv6 socket")
        XCTAssertEqual(IPAddressText.normalized("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1")
        XCTAssertNil(IPAddressText.normalized("10.0.0.256"))
        XCTAssertNil(IPAddressText.normalized("balancer.example.com"))
    }
}
