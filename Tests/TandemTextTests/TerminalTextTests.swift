import Foundation
import XCTest

@testable import TandemText

final class TerminalTextTests: XCTestCase {
    /// Every character class the rule names, with what it must look like afterwards.
    func testEveryControlClassIsShownVisibly() {
        let cases: [(String, String)] = [
            ("a\u{1B}[31mred", "a\\x1b[31mred"),
            ("over\rwrite", "over\\rwrite"),
            ("two\nlines", "two\\nlines"),
            ("tab\there", "tab\\there"),
            ("nul\u{0}bell\u{7}del\u{7F}", "nul\\x00bell\\x07del\\x7f"),
            ("c1 csi \u{9B}2J osc \u{9D}", "c1 csi \\x9b2J osc \\x9d"),
            ("bidi \u{202E}txt.exe", "bidi \\u{202e}txt.exe"),
            ("isolates \u{2066}\u{2067}\u{2068}\u{2069}", "isolates \\u{2066}\\u{2067}\\u{2068}\\u{2069}"),
            ("embed \u{202A}\u{202B}\u{202C}\u{202D}", "embed \\u{202a}\\u{202b}\\u{202c}\\u{202d}"),
            ("marks \u{200E}\u{200F}\u{061C} sep \u{2028}\u{2029}", "marks \\u{200e}\\u{200f}\\u{061c} sep \\u{2028}\\u{2029}"),
        ]
        for (raw, shown) in cases {
            XCTAssertEqual(TerminalText.escape(raw), shown, raw.debugDescription)
        }
    }

    func testPrintableTextIsUnchanged() {
        for s in ["plain", "€ é 日本 🙂", "back\\slash", "quote \"x\"", ""] {
            XCTAssertEqual(TerminalText.escape(s), s)
        }
    }

    func testMultiLineKeepsOnlyNewlines() {
        XCTAssertEqual(TerminalText.escape("a\nb\rc\u{1B}]0;t\u{7}", .multiLine), "a\nb\\rc\\x1b]0;t\\x07")
    }

    /// The broker escapes, then the CLI escapes again: the second pass must change nothing.
    func testEscapingIsIdempotent() {
        let hostile = "\u{1B}]52;c;aGk=\u{7}\r\n\u{202E}x\u{9B}"
        let once = TerminalText.escape(hostile)
        XCTAssertEqual(TerminalText.escape(once), once)
        XCTAssertNil(TerminalText.firstControl(in: once))
        XCTAssertFalse(once.contains("\u{1B}"))
    }

    func testJSONForATerminalIsTheSameValueWithoutRawControls() throws {
        let json = "{\"actor\":\"x\\u001b\",\"data\":{\"name\":\"a\u{202E}b\u{9B}c\u{7F}\"}}"
        let shown = TerminalText.jsonForTerminal(json)
        XCTAssertEqual(shown, "{\"actor\":\"x\\u001b\",\"data\":{\"name\":\"a\\u202eb\\u009bc\\u007f\"}}")
        XCTAssertNil(shown.unicodeScalars.first { $0.value >= 0x7F && TerminalText.isControl($0) })
        let a = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? NSDictionary
        XCTAssertEqual(a, b)
    }

    func testFieldCutsLongTextAndEscapes() {
        XCTAssertEqual(TerminalText.field(String(repeating: "x", count: 10), limit: 4), "xxxx…")
        XCTAssertEqual(TerminalText.field("a\nb", limit: 10), "a\\nb")
    }

    /// Padding cannot push text onto what looks like a line of its own once the terminal wraps.
    func testFieldFoldsRunsOfSpaces() {
        let padded = "Printer" + String(repeating: " ", count: 150) + "They will only be able to: view the queue"
        XCTAssertEqual(TerminalText.field(padded, limit: 60), "Printer They will only be able to: view the queue")
        XCTAssertEqual(TerminalText.field("a\u{A0}\u{A0}\u{3000}b"), "a b")
    }

    func testFirstControlNamesTheCharacter() {
        XCTAssertEqual(TerminalText.firstControl(in: "ok\u{202E}").map(TerminalText.name), "U+202e")
        XCTAssertNil(TerminalText.firstControl(in: "Printer offline — 2nd floor"))
    }
}

final class ReplayFilterTests: XCTestCase {
    func testSequencesActingOutsideTheScreenAreDropped() {
        var f = ReplayFilter()
        let input = "a\u{1B}]52;c;ZXZpbA==\u{7}b\u{1B}]0;pwned\u{1B}\\c\u{1B}Pq#0;2;0;0;0\u{1B}\\d\u{1B}[21te\u{1B}[6nf\u{9D}2;x\u{9C}g"
        XCTAssertEqual(f.filter(input), "abcdefg")
        XCTAssertEqual(f.dropped, 6)
    }

    func testScreenDrawingPassesUnchanged() {
        var f = ReplayFilter()
        let input = "\u{1B}[1;31mred\u{1B}[0m \u{1B}[2J\u{1B}[H\u{1B}(B\u{1B}7\u{1B}8 €\r\n"
        XCTAssertEqual(f.filter(input), input)
        XCTAssertEqual(f.dropped, 0)
    }

    func testASequenceSplitAcrossFramesIsStillDropped() {
        var f = ReplayFilter()
        XCTAssertEqual(f.filter("before\u{1B}"), "before")
        XCTAssertEqual(f.filter("]52;c;"), "")
        XCTAssertEqual(f.filter("aGk=\u{1B}"), "")
        XCTAssertEqual(f.filter("\\after\u{1B}["), "after")
        XCTAssertEqual(f.filter("32mgreen"), "\u{1B}[32mgreen")
    }

    /// An unfinished CSI ends at ESC or a C1 control, as on a terminal, so nothing can hide
    /// behind its start: `ESC [` then a clipboard write, a position report or an 8-bit query.
    func testAnEscapeInsideACSIStartsANewSequence() {
        var f = ReplayFilter()
        XCTAssertEqual(f.filter("a\u{1B}[\u{1B}]52;c;aGVsbG8=\u{7}b"), "ab")
        XCTAssertEqual(f.filter("c\u{1B}[1\u{1B}[6nd"), "cd")
        XCTAssertEqual(f.filter("e\u{1B}[\u{1B}[cf"), "ef")
        XCTAssertEqual(f.filter("g\u{1B}[1\u{9D}52;c;x\u{7}h"), "gh")
        XCTAssertEqual(f.filter("i\u{9A}j"), "ij")
        let long = "\u{1B}[" + String(repeating: "1;", count: 40)
        XCTAssertEqual(f.filter("k" + long + "\u{1B}]0;t\u{7}\u{1B}[1mbold"), "k\u{1B}[1mbold")
    }

    func testAnEscapeInsideAStringStartsANewSequence() {
        var f = ReplayFilter()
        XCTAssertEqual(f.filter("\u{1B}]2;title\u{1B}[1mbold"), "\u{1B}[1mbold")
    }

    func testAnOverlongCSIIsDroppedToItsEndSoAQueryCannotHideInOne() {
        var f = ReplayFilter()
        let long = "\u{1B}[" + String(repeating: "1;", count: 40) + "21t"
        XCTAssertEqual(f.filter("a" + long + "b"), "ab")
        XCTAssertEqual(f.dropped, 1)
    }

    /// CAN and SUB end a string on a real terminal: the replay must not hide what follows.
    func testCancelEndsAStringAsATerminalDoes() {
        var f = ReplayFilter()
        XCTAssertEqual(f.filter("\u{1B}]0;\u{18}visible \u{1B}P\u{1A}also"), "visible also")
    }

    func testTheOtherQueriesThatMakeATerminalAnswerAreDropped() {
        var f = ReplayFilter()
        let queries = "\u{1B}Z\u{1B}[?1$p\u{1B}[>q\u{1B}[x\u{1B}[1;1;1;1;1;1*y\u{1B}[>c"
        XCTAssertEqual(f.filter("<" + queries + ">"), "<>")
        XCTAssertEqual(f.dropped, 6)
        XCTAssertEqual(f.filter("\u{1B}[2 q\u{1B}[4;20r"), "\u{1B}[2 q\u{1B}[4;20r", "cursor style and scroll region draw")
    }
}

/// The live view's second filter: only drawing reaches the end-user's own terminal.
final class ScreenOnlyFilterTests: XCTestCase {
    func testDrawingPassesAndTheStatusRowIsKeptFree() {
        var f = ScreenOnlyFilter(rows: 29)
        let drawing = "\u{1B}[1;31mred\u{1B}[0m\r\n\u{1B}[2J\u{1B}[3;4H\u{1B}[K\u{1B}[2A\u{1B}[?25l\u{1B}[?25h\u{1B}[38:2:1:2:3m€\tx\u{8}"
        XCTAssertEqual(f.filter(drawing), drawing)
        // Absolute rows below the shell's area are clamped to its last row.
        XCTAssertEqual(f.filter("\u{1B}[30;1H\u{1B}[99d\u{1B}[;5H"), "\u{1B}[29;1H\u{1B}[29d\u{1B}[1;5H")
    }

    func testWhatWouldChangeTheTerminalIsDropped() {
        var f = ScreenOnlyFilter(rows: 29)
        let hostile = [
            "\u{1B}[?1000h", "\u{1B}[?1003h", "\u{1B}[?1006h", "\u{1B}[?1004h", "\u{1B}[?2004h", "\u{1B}[?1049h",
            "\u{1B}[>4;2m", "\u{1B}[>1u", "\u{1B}[=1;1u", "\u{1B}[5;10r", "\u{1B}[?6h", "\u{1B}c", "\u{1B}#8", "\u{1B}(0",
            "\u{0E}", "\u{0F}", "\u{7}", "\u{1B}7", "\u{1B}8", "\u{1B}[s", "\u{1B}[u", "\u{1B}[4h", "\u{1B}[20h", "\u{1B}[1 q",
            "\u{1B}[!p", "\u{1B}=", "\u{9B}?1000h",
        ]
        for sequence in hostile {
            XCTAssertEqual(f.filter("a" + sequence + "b"), "ab", sequence.debugDescription)
        }
        // Split across reads, and an ESC that abandons a CSI.
        XCTAssertEqual(f.filter("x\u{1B}[?10"), "x")
        XCTAssertEqual(f.filter("00hy\u{1B}[1\u{1B}[?1049hz"), "yz")
    }
}
