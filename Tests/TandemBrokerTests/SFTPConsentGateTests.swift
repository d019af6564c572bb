import NIOCore
import TandemCore
import XCTest

@testable import TandemBroker

/// The `files:ask` gate: which requests wait for the user, and that nothing behind one passes it.
final class SFTPConsentGateTests: XCTestCase {
    private let allocator = ByteBufferAllocator()

    private func packet(_ message: SFTPMessage) -> [UInt8] { SFTPCodec.encode(message) }

    /// What the actions amount to: forwarded bytes joined, and the questions asked.
    private func summary(_ actions: [SFTPConsentGate.Action]) -> (forwarded: [UInt8], asked: [SFTPConsentGate.Question], held: [[UInt8]], failed: [String]) {
        var forwarded: [UInt8] = [], asked: [SFTPConsentGate.Question] = [], held: [[UInt8]] = [], failed: [String] = []
        for action in actions {
            switch action {
            case .forward(let b): forwarded += b.readableBytesView
            case .ask(let q, let h): asked.append(q); held.append(Array(h.readableBytesView))
            case .fail(let why): failed.append(why)
            }
        }
        return (forwarded, asked, held, failed)
    }

    func testReadsPassAndAnOpenWaitsWithEverythingBehindIt() {
        var gate = SFTPConsentGate()
        let stat = packet(.stat(id: 1, path: "/etc/app.conf"))
        let open = packet(.open(id: 2, path: "/etc/app.conf", flags: [.read], attributes: SFTPAttributes()))
        let list = packet(.opendir(id: 3, path: "/etc"))
        let all = stat + open + list
        // Split inside the open's length field: framing survives any cut.
        let first = summary(gate.take(allocator.buffer(bytes: all[..<(stat.count + 2)]), askEach: true))
        XCTAssertEqual(first.forwarded, stat)
        XCTAssertTrue(first.asked.isEmpty)
        let second = summary(gate.take(allocator.buffer(bytes: all[(stat.count + 2)...]), askEach: true))
        XCTAssertEqual(second.forwarded, [])
        XCTAssertEqual(second.asked, [.init(id: 2, operation: "download", path: "/etc/app.conf")])
        XCTAssertEqual(second.held, [open])
        XCTAssertTrue(gate.waiting)
        XCTAssertEqual(gate.held, list.count, "the listing waits behind the question")
        XCTAssertTrue(summary(gate.take(allocator.buffer(bytes: stat), askEach: true)).forwarded.isEmpty, "nothing passes an open question")
        let after = summary(gate.answered(askEach: true))
        XCTAssertEqual(after.forwarded, list + stat)
        XCTAssertFalse(gate.waiting)
    }

    func testWritesRemovalsRenamesAndTruncationsAreAskedTimesAndAllowedAllAreNot() {
        let cases: [(SFTPMessage, String?)] = [
            (.open(id: 1, path: "up", flags: [.write, .create, .truncate], attributes: SFTPAttributes()), "upload"),
            (.remove(id: 2, path: "x"), "remove"),
            (.rmdir(id: 3, path: "d"), "remove folder"),
            (.rename(id: 4, from: "a", to: "b"), "rename"),
            (.extended(id: 5, name: "posix-rename@openssh.com", payload: [0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x62]), "rename"),
            (.extended(id: 5, name: "statvfs@openssh.com", payload: [0, 0, 0, 1, 0x61]), nil),
            (.symlink(id: 6, target: "/etc/shadow", link: "s"), "link"),
            (.setstat(id: 7, path: "f", attributes: SFTPAttributes(size: 0)), "change"),
            (.setstat(id: 8, path: "f", attributes: SFTPAttributes(atime: 1, mtime: 1)), nil),
            (.mkdir(id: 9, path: "new", attributes: SFTPAttributes()), nil),
            (.setstat(id: 10, path: "f", attributes: SFTPAttributes(uid: 0, gid: 0)), "change"),
            (.fsetstat(id: 11, handle: [1], attributes: SFTPAttributes(size: 0)), "change"),
            (.fsetstat(id: 12, handle: [1], attributes: SFTPAttributes(permissions: 0o100777)), "change"),
            (.fsetstat(id: 13, handle: [1], attributes: SFTPAttributes(atime: 1, mtime: 1)), nil),
        ]
        for (message, operation) in cases {
            var gate = SFTPConsentGate()
            let result = summary(gate.take(allocator.buffer(bytes: packet(message)), askEach: true))
            XCTAssertEqual(result.asked.first?.operation, operation, "\(message)")
            XCTAssertEqual(result.forwarded.isEmpty, operation != nil, "\(message)")
        }
        var trusting = SFTPConsentGate()
        let remove = packet(.remove(id: 2, path: "x"))
        XCTAssertEqual(summary(trusting.take(allocator.buffer(bytes: remove), askEach: false)).forwarded, remove, "after 'all' nothing waits")
    }

    func testAnOversizedLengthClosesTheChannelAndARefusalIsAStatusForTheSameRequest() throws {
        var gate = SFTPConsentGate()
        let result = summary(gate.take(allocator.buffer(bytes: [0x7f, 0xff, 0xff, 0xff, 3]), askEach: true))
        XCTAssertEqual(result.failed.count, 1)
        XCTAssertTrue(result.failed[0].contains("exceeds"), result.failed[0])
        let refusal = SFTPConsentGate.refusal(id: 42, allocator: allocator)
        var framer = SFTPCodec.Framer()
        framer.append(Array(refusal.readableBytesView))
        let body = try XCTUnwrap(try framer.next())
        XCTAssertEqual(try SFTPCodec.decode(body), .status(id: 42, code: SFTP.Status.permissionDenied.rawValue, message: "the user refused"))
    }

    func testAChangeThroughAHandleIsAskedWithTheFileItOpened() {
        var gate = SFTPConsentGate()
        var boundary = SFTPReplyBoundary()
        // An allowed download of /etc/app.conf is answered with handle [7, 7].
        gate.opened(id: 2, path: "/etc/app.conf")
        let reply = SFTPCodec.encode(.handle(id: 2, handle: [7, 7]))
        // Split mid-packet: the handle is read whole all the same.
        XCTAssertTrue(boundary.passed(allocator.buffer(bytes: reply[..<6])).isEmpty)
        for (id, handle) in boundary.passed(allocator.buffer(bytes: reply[6...])) { gate.handleReplied(id: id, handle: handle) }
        let truncate = packet(.fsetstat(id: 3, handle: [7, 7], attributes: SFTPAttributes(size: 0)))
        let asked = summary(gate.take(allocator.buffer(bytes: truncate), askEach: true)).asked
        XCTAssertEqual(asked, [.init(id: 3, operation: "change", path: "/etc/app.conf")])
    }

    func testTheReplyBoundaryFollowsPacketsSplitAnywhere() {
        var boundary = SFTPReplyBoundary()
        let reply = SFTPCodec.encode(.data(id: 1, data: Array(repeating: 7, count: 100)))
        let two = reply + reply
        for cut in [1, 3, 4, 5, reply.count - 1, reply.count, reply.count + 2] {
            boundary = SFTPReplyBoundary()
            boundary.passed(allocator.buffer(bytes: two[..<cut]))
            XCTAssertEqual(boundary.atBoundary, cut == reply.count, "cut at \(cut)")
            boundary.passed(allocator.buffer(bytes: two[cut...]))
            XCTAssertTrue(boundary.atBoundary, "cut at \(cut)")
        }
    }
}
