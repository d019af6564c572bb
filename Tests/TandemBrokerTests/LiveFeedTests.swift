import Foundation
import XCTest

@testable import TandemBroker

/// Watching a shell live: bounded in watchers and in bytes behind, and nothing left once it ends.
final class LiveFeedTests: XCTestCase {
    func testANewWatcherSeesTheRecentScreenThenWhatFollows() async throws {
        let feed = LiveFeed(columns: 80, rows: 24)
        feed.publish(time: 0.1, kind: "o", text: "before\r\n")
        feed.publish(time: 0.2, kind: "r", text: "132x50")
        let watch = try XCTUnwrap(feed.watch())
        XCTAssertEqual(watch.start.recent, "before\r\n")
        XCTAssertEqual([watch.start.columns, watch.start.rows], [132, 50])
        feed.publish(time: 0.3, kind: "o", text: "after")
        feed.finish()
        var seen: [String] = []
        for await frame in watch.frames { seen.append(frame.text) }
        XCTAssertEqual(seen, ["after"], "then the stream ends with the shell")
        XCTAssertNil(feed.watch(), "no watching a shell that ended")
    }

    func testAWatcherTooFarBehindIsLetGoAndOthersAreNot() async throws {
        let feed = LiveFeed(columns: 80, rows: 24)
        let slow = try XCTUnwrap(feed.watch())
        let quick = try XCTUnwrap(feed.watch())
        let chunk = String(repeating: "x", count: 64 * 1024)
        var quickFrames = 0
        for i in 0..<(LiveFeed.watcherBytes / chunk.utf8.count + 8) {
            feed.publish(time: Double(i), kind: "o", text: chunk)
            // The quick one reports each frame sent; the slow one never does.
            quick.sent(LiveFeed.Frame(time: 0, kind: "o", text: chunk))
            quickFrames += 1
        }
        var slowBytes = 0
        for await frame in slow.frames { slowBytes += frame.text.utf8.count }
        XCTAssertLessThanOrEqual(slowBytes, LiveFeed.watcherBytes, "a stalled watcher never holds more than its budget")
        XCTAssertEqual(feed.watcherCount, 1, "the quick one still watches")
        feed.finish()
        var quickBytes = 0
        for await frame in quick.frames { quickBytes += frame.text.utf8.count }
        XCTAssertEqual(quickBytes, quickFrames * chunk.utf8.count)
    }

    func testWatchersAreCappedAndAPlaceIsGivenBack() throws {
        let feed = LiveFeed(columns: 80, rows: 24)
        let watches = (0..<LiveFeed.maxWatchers).compactMap { _ in feed.watch() }
        XCTAssertEqual(watches.count, LiveFeed.maxWatchers)
        XCTAssertNil(feed.watch(), "one more than the cap is refused")
        watches[0].cancel()
        XCTAssertEqual(feed.watcherCount, LiveFeed.maxWatchers - 1)
        XCTAssertNotNil(feed.watch(), "a place given back is taken again")
        feed.finish()
        XCTAssertEqual(feed.watcherCount, 0)
    }
}
