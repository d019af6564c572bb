import Crypto
import Foundation
import TandemAudit
import XCTest

final class ChainVerifierTests: XCTestCase {
    let key = Curve25519.Signing.PrivateKey()

    /// A chain for ticket 7: five events, one naming a recording, a checkpoint at the end.
    private func chain(recording: Data) throws -> ([AuditEvent], [Checkpoint]) {
        var events: [AuditEvent] = []
        var prev = AuditEvent.genesis
        let sha = SHA256.hash(data: recording).hexString
        for seq in 1...5 {
            var data = ["n": "\(seq)"]
            if seq == 4 { data["recording_sha256"] = sha }
            var e = AuditEvent(id: Int64(seq * 10), chain: 7, seq: Int64(seq), timeMicros: 1_700_000_000_000_000 + Int64(seq),
                               session: "s-0000abcd", actor: "alice", kind: seq == 5 ? "ended" : "exec", data: data, prev: prev)
            e.hash = e.computeHash()
            prev = e.hash
            events.append(e)
        }
        let mark = try Checkpoint.sign(chain: 7, seq: 5, eventID: 50, head: prev, timeMicros: 1, key: key)
        return (events, [mark])
    }

    private func verify(_ events: [AuditEvent], _ marks: [Checkpoint], recording: Data?) -> ChainVerifier.Report {
        ChainVerifier(publicKey: key.publicKey) { _ in recording }.verify(events: events, checkpoints: marks)
    }

    func testIntactChainVerifies() throws {
        let rec = Data("[2]\n".utf8)
        let (events, marks) = try chain(recording: rec)
        let report = verify(events, marks, recording: rec)
        XCTAssertTrue(report.ok, report.summary)
        XCTAssertEqual(report.eventsChecked, 5)
        XCTAssertEqual(report.checkpointsChecked, 1)
        XCTAssertEqual(report.recordingsChecked, 1)
    }

    func testEditedEventIsNamed() throws {
        let rec = Data("x".utf8)
        var (events, marks) = try chain(recording: rec)
        events[2].data["n"] = "33"
        let report = verify(events, marks, recording: rec)
        XCTAssertFalse(report.ok)
        XCTAssertTrue(report.summary.contains("event #3"), report.summary)
        XCTAssertTrue(report.summary.contains("altered"), report.summary)
    }

    func testRehashedEditBreaksTheNextLink() throws {
        let rec = Data("x".utf8)
        var (events, marks) = try chain(recording: rec)
        events[1].actor = "mallory"
        events[1].hash = events[1].computeHash()
        let report = verify(events, marks, recording: rec)
        XCTAssertTrue(report.summary.contains("event #3") && report.summary.contains("does not link"), report.summary)
    }

    func testDeletedEventsAreNamed() throws {
        let rec = Data("x".utf8)
        var (events, marks) = try chain(recording: rec)
        events.remove(at: 1)
        XCTAssertTrue(verify(events, marks, recording: rec).summary.contains("event #2 of the chain is missing"))
        let (all, _) = try chain(recording: rec)
        let truncated = Array(all.prefix(4))
        XCTAssertTrue(verify(truncated, marks, recording: rec).summary.contains("covers event #5"))
    }

    func testChangedOrMissingRecordingIsNamed() throws {
        let rec = Data("[2]\n".utf8)
        let (events, marks) = try chain(recording: rec)
        XCTAssertTrue(verify(events, marks, recording: Data("[3]\n".utf8)).summary.contains("was altered"))
        XCTAssertTrue(verify(events, marks, recording: nil).summary.contains("is missing"))
    }

    func testForeignKeyFailsTheCheckpoint() throws {
        let rec = Data("x".utf8)
        let (events, marks) = try chain(recording: rec)
        let other = Curve25519.Signing.PrivateKey().publicKey
        let report = ChainVerifier(publicKey: other) { _ in rec }.verify(events: events, checkpoints: marks)
        XCTAssertTrue(report.summary.contains("invalid signature"), report.summary)
    }

    func testCanonicalFormIsStable() {
        let e = AuditEvent(id: 1, chain: 0, seq: 1, timeMicros: 5, session: nil, actor: "a\"b", kind: "k",
                           data: ["z": "1", "a": "\n\u{1}"], prev: AuditEvent.genesis)
        XCTAssertEqual(e.canonical, #"{"actor":"a\"b","chain":0,"data":{"a":"\n\u0001","z":"1"},"id":1,"kind":"k","prev":"\#(AuditEvent.genesis)","seq":1,"session":null,"time_us":5}"#)
    }

    func testBundleRoundTripsAndDetectsASwappedKey() throws {
        let rec = Data("[2]\n".utf8)
        let (events, marks) = try chain(recording: rec)
        let sha = SHA256.hash(data: rec).hexString
        let bundle = AuditBundle(events: events, checkpoints: marks, recordings: [sha: rec],
                                 publicKeyText: AuditKeyText.format(key.publicKey))
        let tar = bundle.archive()
        let reopened = try AuditBundle.open(tar)
        XCTAssertEqual(reopened.events, events)
        XCTAssertTrue(reopened.verify().ok, reopened.verify().summary)
        XCTAssertTrue(reopened.verify(expectedKey: AuditKeyText.format(key.publicKey)).ok)

        var swapped = reopened
        swapped.publicKeyText = AuditKeyText.format(Curve25519.Signing.PrivateKey().publicKey)
        XCTAssertFalse(try AuditBundle.open(swapped.archive()).verify().ok)
        XCTAssertFalse(reopened.verify(expectedKey: AuditKeyText.format(Curve25519.Signing.PrivateKey().publicKey)).ok)
    }

    /// `withheld.txt` is not signed: a bundle that drops a recording and lists it as withheld
    /// must not verify as complete, only when the reader says they accept less.
    func testAWithheldRecordingFailsUnlessTheReaderAcceptsIt() throws {
        let rec = Data("[1, \"o\", \"rm -rf /\"]\n".utf8)
        let (events, marks) = try chain(recording: rec)
        let sha = SHA256.hash(data: rec).hexString
        let pub = AuditKeyText.format(key.publicKey)
        let complete = try AuditBundle.open(AuditBundle(events: events, checkpoints: marks, recordings: [sha: rec], publicKeyText: pub).archive())
        XCTAssertTrue(complete.verify().ok)
        let edited = try AuditBundle.open(AuditBundle(events: events, checkpoints: marks, recordings: [:], publicKeyText: pub, withheld: [sha]).archive())
        let strict = edited.verify()
        XCTAssertFalse(strict.ok)
        XCTAssertTrue(strict.summary.contains("was withheld from this bundle") && strict.summary.contains("s-0000abcd"), strict.summary)
        let lenient = edited.verify(acceptWithheld: true)
        XCTAssertTrue(lenient.ok, lenient.summary)
        XCTAssertEqual(lenient.recordingsWithheld, 1)
        XCTAssertTrue(lenient.summary.contains("1 recording(s) withheld (sessions s-0000abcd)"), lenient.summary)
        // Withheld covers only what is absent: a present recording is still checked.
        let forged = try AuditBundle.open(AuditBundle(events: events, checkpoints: marks, recordings: [sha: Data("x".utf8)],
                                                      publicKeyText: pub, withheld: [sha]).archive())
        XCTAssertFalse(forged.verify(acceptWithheld: true).ok)
    }

    func testMalformedBundlesAreRejected() {
        XCTAssertThrowsError(try AuditBundle.open(Data("not a tar".utf8)))
        var bad = TarArchive.write([TarArchive.Entry(name: "events.jsonl", data: Data("{".utf8))])
        XCTAssertThrowsError(try AuditBundle.open(bad))
        bad[148] = UInt8(ascii: "7")
        XCTAssertThrowsError(try TarArchive.read(bad))
    }
}
