import TandemCore
import XCTest

/// The line `tandem proxy` sends before SSH, the broker's closing notice, and session host names.
final class ProxyPreambleTests: XCTestCase {
    private let nonce = String(repeating: "ab", count: 16)

    func testTheCLIsSSHPassesAndAPreambleIsReadWithWhatFollows() throws {
        XCTAssertEqual(try ProxyPreamble.classify(Array("SSH-2.0-libssh_0.10.6\r\n".utf8)), .ssh)
        XCTAssertEqual(try ProxyPreamble.classify(Array("SS".utf8)), .undecided)
        XCTAssertEqual(try ProxyPreamble.classify([UInt8]()), .undecided)
        let line = ProxyPreamble(session: SessionID(rawValue: "s-7f3a9c2e"), nonce: nonce).line
        XCTAssertEqual(line.utf8.count, 59)
        for cut in 1..<line.utf8.count {
            XCTAssertEqual(try ProxyPreamble.classify(Array(line.utf8.prefix(cut))), .undecided, "cut at \(cut)")
        }
        let whole = Array((line + "SSH-2.0-OpenSSH_9.2\r\n").utf8)
        guard case .preamble(let preamble, let length) = try ProxyPreamble.classify(whole) else { return XCTFail("not read") }
        XCTAssertEqual(preamble.session.rawValue, "s-7f3a9c2e")
        XCTAssertEqual(preamble.nonce, nonce)
        XCTAssertEqual(length, 59)
        // A fresh preamble reads back as itself, with a new nonce each time.
        let made = ProxyPreamble.make(for: SessionID(rawValue: "s-00ff00ff"))
        XCTAssertEqual(try ProxyPreamble.classify(Array(made.line.utf8)), .preamble(made, length: 59))
        XCTAssertNotEqual(made.nonce, ProxyPreamble.make(for: made.session).nonce)
    }

    func testHostileStartsAreRefusedWithAReason() {
        let cases: [(String, String)] = [
            ("GET / HTTP/1.1\r\n", "neither SSH nor"),
            ("TANDEM-PROXY/2 s-7f3a9c2e \(nonce)\n", "neither SSH nor"),
            ("TANDEM-PROXY/1 ../../etc/passwd \(nonce)\n", "is not a session id"),
            ("TANDEM-PROXY/1 s-7F3A9C2E \(nonce)\n", "is not a session id"),
            ("TANDEM-PROXY/1 s-7f3a9c2e\n", "a session id and a nonce"),
            ("TANDEM-PROXY/1 s-7f3a9c2e \(nonce) extra\n", "a session id and a nonce"),
            ("TANDEM-PROXY/1 s-7f3a9c2e \(nonce.uppercased())\n", "32 lowercase hex"),
            ("TANDEM-PROXY/1 s-7f3a9c2e \u{1b}[2J\(nonce.dropFirst(4))\n", "32 lowercase hex"),
            ("TANDEM-PROXY/1 " + String(repeating: "A", count: 200), "96-byte limit"),
            ("TANDEM\n", "neither SSH nor"),
            ("TANDEM-PROXY/1 \n", "a session id and a nonce"),
        ]
        for (input, reason) in cases {
            XCTAssertThrowsError(try ProxyPreamble.classify(Array(input.utf8)), input) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(input): \(error)")
            }
        }
    }

    func testTheNoticeIsFoundOnlyWithItsNonceAndWhole() {
        let encoded = ProxyNotice.encode("no key\u{1b}[31m fits\r\nnext", nonce: nonce)
        // Control characters cannot break the line or reach the terminal raw.
        XCTAssertEqual(ProxyNotice.find(in: encoded, nonce: nonce), "no key [31m fits  next")
        let junk: [UInt8] = [0, 1, 2, 10, 200, 84]
        XCTAssertEqual(ProxyNotice.find(in: junk + encoded, nonce: nonce), "no key [31m fits  next")
        XCTAssertNil(ProxyNotice.find(in: encoded, nonce: String(repeating: "cd", count: 16)))
        XCTAssertNil(ProxyNotice.find(in: Array(encoded.dropLast()), nonce: nonce), "a notice without its end is not yet whole")
        XCTAssertNil(ProxyNotice.find(in: [], nonce: nonce))
        // An endless notice is cut at its limit, not waited for.
        let endless = ProxyNotice.marker(nonce) + [UInt8](repeating: 65, count: 5000)
        XCTAssertEqual(ProxyNotice.find(in: endless, nonce: nonce)?.utf8.count, ProxyNotice.maxBytes)
        XCTAssertLessThanOrEqual(ProxyNotice.encode(String(repeating: "é", count: 3000), nonce: nonce).count,
                                 ProxyNotice.marker(nonce).count + ProxyNotice.maxBytes)
    }

    func testSessionHostNames() throws {
        XCTAssertEqual(try SessionHost.parse("s-7f3a9c2e").rawValue, "s-7f3a9c2e")
        XCTAssertEqual(try SessionHost.parse("tandem-7f3a9c2e").rawValue, "s-7f3a9c2e")
        XCTAssertEqual(try SessionHost.parse("tandem-s-7f3a9c2e").rawValue, "s-7f3a9c2e")
        XCTAssertEqual(try SessionHost.parse("S-7F3A9C2E").rawValue, "s-7f3a9c2e")
        for bad in ["", "s-", "tandem-", "s-7f3a9c2", "s-7f3a9c2eff", "example.com", "s-7f3a9c2e.example.com", "tandem-../../x", "s-７f3a9c2e"] {
            XCTAssertThrowsError(try SessionHost.parse(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("is not a Tandem session host"), "\(bad): \(error)")
            }
        }
    }
}
