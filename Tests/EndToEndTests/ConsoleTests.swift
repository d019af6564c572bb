import Crypto
import Foundation
import TandemText
import XCTest

/// Issue 12: the web console in a real headless Chromium (Debian's chromium, chromium-driver and
/// python3-selenium), against a broker on 127.0.0.1 with a real session behind it.
final class ConsoleTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func fixture(_ name: String) throws -> BrokerFixture {
        let assets = Self.repo.appendingPathComponent(".build-console")
        guard FileManager.default.fileExists(atPath: assets.appendingPathComponent("asciinema-player.js").path) else {
            throw Failure("asciinema-player is not in \(assets.path): run scripts/setup.sh")
        }
        return try BrokerFixture(name: name, serveArguments: ["--console-assets", assets.path, "--capture-files", "on"])
    }

    /// A one-time link from `tandem console --no-open`, as the person would print it.
    private func link(_ fx: BrokerFixture, as name: String? = nil) throws -> String {
        let r = try name.map { try fx.tandem(as: $0, ["console", "--no-open"]) } ?? fx.tandem(["console", "--no-open"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let url = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(url.hasPrefix("https://127.0.0.1:\(fx.port)/console/sign-in?link=lnk_"), url)
        XCTAssertTrue(r.stderr.contains("Valid for 60 seconds and one sign-in"), r.stderr)
        return String(url.dropFirst("https://127.0.0.1:\(fx.port)".count))
    }

    /// The SHA-256 of the broker certificate's public key, which Chromium is told to trust (and nothing else).
    private func spki(_ fx: BrokerFixture) throws -> String {
        let r = try runTool("/bin/bash", ["-c", "openssl x509 -in certs/broker.crt -pubkey -noout | openssl pkey -pubin -outform der "
                                              + "| openssl dgst -sha256 -binary | base64"], in: fx.dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func headers(_ fx: BrokerFixture, _ path: String, form: String? = nil, extra: [String] = []) throws -> String {
        var args = ["-sS", "-D", "-", "-o", "/dev/null", "--cacert", "certs/ca.crt"] + extra
        if let form { args += ["--data", form] }
        let r = try runTool("/usr/bin/curl", args + ["https://127.0.0.1:\(fx.port)\(path)"], in: fx.dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    /// Every kind of character TerminalText escapes, and some it leaves alone.
    static let escapeCorpus = "a\u{0}\u{7}\t\n\r\u{1B}[31m\u{7F}\u{80}\u{85}\u{9F}\u{A0}\u{61C}\u{200D}\u{200E}\u{200F}\u{2028}\u{2029}"
        + "\u{202A}\u{202E}\u{2066}\u{2069}\u{206A}é😀\\x1b"

    func testSignInPagesReplayAndRolesInChromium() throws {
        let fx = try fixture("console")
        defer { fx.stopAll() }
        try fx.addUser("bob", role: "technician")
        try fx.addUser("carol", role: "auditor")
        let (id, agent) = try fx.activeSession(scope: "shell,files")

        // An exec whose command holds markup and an escape sequence: the pages must show both as text.
        let command = "echo console-exec '<img src=x onerror=window.pwned=1>' \u{1B}[31m"
        XCTAssertEqual(try fx.tandem(["exec", "-n", id], after: ["--", command]).status, 0)
        // A file, up.
        let local = fx.dir.appendingPathComponent("fix.conf")
        try Data("retries = 3\n".utf8).write(to: local)
        XCTAssertEqual(try fx.tandem(["put", id, local.path, "fix.conf"]).status, 0)
        let sha = try runTool("/usr/bin/sha256sum", [local.path], in: fx.dir).stdout.prefix(64)
        // A shell with one typed command.
        let term = try PseudoTerminal(Harness.tool("tandem"), ["shell", id] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { term.stop() }
        XCTAssertNotNil(term.waitForMatch("[$#] "), "no prompt: \(term.text)")
        term.type("echo typed-in-console\r")
        XCTAssertNotNil(term.waitForMatch("typed-in-console\r?\n"), term.text)
        term.type("exit\r")
        XCTAssertTrue(Harness.waitUntil(15) { !term.process.isRunning })
        XCTAssertEqual(try fx.tandem(["session", "end", id]).status, 0)
        XCTAssertEqual(agent.wait(20), 0)
        let recordings = Int(try fx.sql("SELECT count(*) FROM events WHERE session_id = '\(id)' AND kind = 'channel_closed' AND json_extract(data, '$.recording_sha256') IS NOT NULL")
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertEqual(recordings, 2, "one for the exec, one for the shell")
        let recordingSha = try fx.sql("SELECT json_extract(data, '$.recording_sha256') FROM events WHERE session_id = '\(id)' AND kind = 'channel_closed' "
                                      + "AND json_extract(data, '$.recording_sha256') IS NOT NULL LIMIT 1").trimmingCharacters(in: .whitespacesAndNewlines)

        // Headers, checked on the wire: the cookie's attributes and every page's policy.
        let fresh = try link(fx)
        let linkText = fresh.components(separatedBy: "link=")[1]
        // Opening a link spends nothing: it asks, with a nonce in a SameSite=Strict cookie and in its form.
        // A form without the page's nonce, or one another site sends, is refused, and the link stays good.
        let jar = fx.dir.appendingPathComponent("signin.jar").path
        let page = try runTool("/usr/bin/curl", ["-sS", "-c", jar, "--cacert", "certs/ca.crt", "https://127.0.0.1:\(fx.port)\(fresh)"], in: fx.dir).stdout
        XCTAssertTrue(page.contains("Sign in as alice"), page)
        let nonce = page.components(separatedBy: #"name="nonce" value=""#).dropFirst().first.map { String($0.prefix { $0 != "\"" }) } ?? ""
        XCTAssertEqual(nonce.count, 32, page)
        XCTAssertTrue(try headers(fx, "/console/sign-in", form: "link=\(linkText)&nonce=\(nonce)").hasPrefix("HTTP/1.1 403"), "no nonce cookie")
        XCTAssertTrue(try headers(fx, "/console/sign-in", form: "link=\(linkText)&nonce=\(nonce)",
                                  extra: ["-b", jar, "-H", "Sec-Fetch-Site: cross-site"]).hasPrefix("HTTP/1.1 403"), "another site's form")
        let signIn = try headers(fx, "/console/sign-in", form: "link=\(linkText)&nonce=\(nonce)", extra: ["-b", jar])
        let cookieLine = signIn.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie: tandem_console=con_") } ?? ""
        for attribute in ["Path=/console", "Max-Age=28800", "HttpOnly", "Secure", "SameSite=Strict"] {
            XCTAssertTrue(cookieLine.contains(attribute), "\(attribute) missing: \(signIn)")
        }
        for page in [try link(fx), "/console/signed-out", "/console/tickets", "/console/assets/console.js"] {
            let h = try headers(fx, page).lowercased()
            XCTAssertTrue(h.contains("content-security-policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'"), "\(page): \(h)")
            XCTAssertFalse(h.contains("unsafe-inline"), "\(page): \(h)")
            XCTAssertTrue(h.contains("x-frame-options: deny"), "\(page): \(h)")
            XCTAssertTrue(h.contains("referrer-policy: no-referrer"), "\(page): \(h)")
        }
        XCTAssertTrue(try headers(fx, "/console/tickets").hasPrefix("HTTP/1.1 401"), "no cookie, no page")
        // Reading needs no JavaScript: the ticket page as a client that runs none (curl) gets it.
        let cookiePair = String(cookieLine.dropFirst("set-cookie: ".count).prefix { $0 != ";" })
        let plain = try runTool("/usr/bin/curl", ["-sS", "--cacert", "certs/ca.crt", "-H", "Cookie: \(cookiePair)",
                                                  "https://127.0.0.1:\(fx.port)/console/tickets/1"], in: fx.dir).stdout
        XCTAssertTrue(plain.contains("echo console-exec &#39;&lt;img src=x onerror=window.pwned=1&gt;&#39; \\x1b[31m"), String(plain.prefix(3000)))
        XCTAssertTrue(plain.contains(String(sha)) && plain.contains("ended by technician"), "files and end reason, server-rendered")

        // An expired link: made, then aged in the database.
        let expired = try link(fx)
        let expiredID = String(expired.components(separatedBy: "link=")[1].prefix { $0 != "." })
        _ = try fx.sql("UPDATE tokens SET expires = 1000 WHERE id = '\(expiredID)'")

        // 6. A portable export: index.html and what it loads, beside the record, for an auditor.
        let exported = fx.dir.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: exported, withIntermediateDirectories: true)
        let tarball = fx.dir.appendingPathComponent("ticket-1.tar")
        let export = try fx.tandem(as: "carol", ["audit", "export", "--ticket", "1", "-o", tarball.path])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(try runTool("/bin/tar", ["-xf", tarball.path, "-C", exported.path], in: fx.dir).status, 0)
        for name in ["index.html", "console.js", "console.css", "asciinema-player.js", "asciinema-player.css", "events.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: exported.appendingPathComponent(name).path), "\(name) missing from the export")
        }
        let readme = try String(contentsOf: exported.appendingPathComponent("README.txt"), encoding: .utf8)
        XCTAssertTrue(readme.contains("async function verifyRecord(record, key, fetchBytes)") && readme.contains("crypto.subtle.verify"),
                      "the README holds the verifier's text: \(readme.prefix(600))")
        let offline = try fx.tandem(["audit", "verify", tarball.path])
        XCTAssertEqual(offline.status, 0, "the bundle with its page still verifies: \(offline.stderr)")

        // A second ticket, signed, then one of its events edited in the database behind the broker's back.
        XCTAssertEqual(try fx.tandem(["ticket", "new", "Laptop battery", "--requester", "omar"]).status, 0)
        XCTAssertEqual(try fx.tandem(["ticket", "assign", "2", "bob"]).status, 0)
        XCTAssertEqual(try fx.tandem(["audit", "verify", "--ticket", "2"]).status, 0, "signed and sound before the edit")
        let editedID = try fx.sql("SELECT id FROM events WHERE chain = 2 AND seq = 1").trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try fx.sql("UPDATE events SET data = replace(data, 'Laptop battery', 'Nothing to see') WHERE chain = 2 AND seq = 1")
        XCTAssertNotEqual(try fx.tandem(["audit", "verify", "--ticket", "2"]).status, 0, "the edit is real")
        let info = try runTool(Harness.tool("tandemd"), ["info", "--data", fx.data.path], in: fx.dir)
        let auditKey = info.stdout.split(separator: "\n").first { $0.hasPrefix("audit public key: ") }.map { String($0.dropFirst(18)) } ?? ""
        XCTAssertTrue(auditKey.hasPrefix("tandem-audit-ed25519 "), info.stdout)
        let wrongKey = "tandem-audit-ed25519 " + Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()

        // A session running while the browser watches: its shell prints a tick five times a second
        // (a bounded loop) until an admin ends the session from the console.
        try fx.addUser("dave", role: "admin")
        let (liveID, liveAgent) = try fx.activeSession(title: "Slow disk", scope: "shell")
        let watched = try PseudoTerminal(Harness.tool("tandem"), ["shell", liveID] + fx.cliConfig, in: fx.dir, rows: 24, columns: 80)
        defer { watched.stop() }
        XCTAssertNotNil(watched.waitForMatch("[$#] "), "no prompt: \(watched.text)")
        watched.type("for i in $(seq 1 900); do echo tick-$i; sleep 0.2; done\r")
        XCTAssertNotNil(watched.waitForMatch("tick-2\r?\n"), watched.text)

        let shots = fx.dir.appendingPathComponent("console-screenshots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        print("ConsoleTests: screenshots of every page in \(shots.path)")
        let scenario: [String: Any] = [
            "base": "https://127.0.0.1:\(fx.port)", "spki": try spki(fx), "shots": shots.path,
            "links": ["alice": try link(fx), "expired": expired, "bob": try link(fx, as: "bob"), "carol": try link(fx, as: "carol"),
                      "dave": try link(fx, as: "dave")],
            "live_session": liveID, "live_ticket": 3, "recording_sha": recordingSha, "export_index": exported.appendingPathComponent("index.html").path,
            "ticket": 1, "session": id, "exec_command": "echo console-exec '<img src=x onerror=window.pwned=1>'",
            "file_sha256": String(sha), "file_text": "retries = 3\n", "end_reason": "ended by technician", "typed": "echo typed-in-console",
            "recordings": recordings, "shell_recording_index": recordings - 1,
            // The browser's escaping of what it reads itself (typed commands) must be the terminal's.
            "escape_corpus": Self.escapeCorpus, "escape_expected": TerminalText.escape(Self.escapeCorpus),
            "audit_key": auditKey, "wrong_key": wrongKey, "edited_ticket": 2, "edited_seq": 1, "edited_id": Int(editedID) ?? -1,
        ]
        let input = String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)
        let script = Self.repo.appendingPathComponent("Tests/EndToEndTests/Support/console_browser.py").path
        let run = try runTool("/usr/bin/python3", [script], in: fx.dir, stdin: input, timeout: 240)
        // The browser's account of itself, in the test log whether it passed or not.
        print(run.stdout)
        let checks = run.stdout.split(separator: "\n").filter { $0.hasPrefix("CHECK ") }.map { String($0.dropFirst(6)) }
        XCTAssertEqual(run.status, 0, "browser run failed:\n\(run.stdout)\n\(run.stderr.suffix(3000))")
        // Every check ran, not just the ones before an early exit.
        XCTAssertEqual(checks.count, 55, "checks that passed:\n\(checks.joined(separator: "\n"))\n\(run.stdout)\n\(run.stderr.suffix(2000))")
        XCTAssertTrue(checks.contains("no CSP violation or script error on any page"), run.stdout)

        // 5. The admin's end reached both sides, with its reason, and is on record with the watches.
        XCTAssertTrue(watched.waitFor("ended by admin dave: audit stop"), "the technician's shell: \(watched.text.suffix(400))")
        XCTAssertEqual(liveAgent.wait(20), 0)
        XCTAssertTrue(liveAgent.stderr.contains("ended by admin dave: audit stop"), "the end-user's agent: \(liveAgent.stderr.suffix(400))")
        let ended = try fx.sql("SELECT actor || ' ' || data FROM events WHERE session_id = '\(liveID)' AND kind = 'ended'")
        XCTAssertTrue(ended.contains("dave") && ended.contains("ended by admin dave: audit stop"), ended)
        let watchers = try fx.sql("""
            SELECT actor || ' ' || json_extract(data, '$.consent') FROM events WHERE session_id = '\(liveID)' AND kind = 'participant_joined'
            AND json_extract(data, '$.via') = 'console' ORDER BY id
            """)
        XCTAssertEqual(watchers.split(separator: "\n"), ["carol told", "dave told"], "each watch is on record, and the user was told")
        XCTAssertTrue(liveAgent.stderr.contains("carol (auditor) joined this session, watching"), liveAgent.stderr)

        // On record: each sign-in and the sign-out, by whom; the links' secrets never in the broker's log.
        let kinds = try fx.eventKinds()
        XCTAssertEqual(kinds.filter { $0 == "console_signed_in" }.count, 5, "alice by curl and by browser, bob, carol, dave: \(kinds)")
        XCTAssertEqual(kinds.filter { $0 == "console_signed_out" }.count, 3, "alice's sign-out; bob's and carol's sessions ended by the next sign-in in that browser: \(kinds)")
        let linkSecret = fresh.components(separatedBy: ".").last ?? "?"
        XCTAssertFalse(fx.broker.stderr.contains(linkSecret) || fx.broker.stdout.contains(linkSecret), "a link's secret in the log")
        let cookieSecret = cookieLine.components(separatedBy: ";")[0].components(separatedBy: ".").last ?? "?"
        XCTAssertGreaterThan(cookieSecret.count, 20)
        XCTAssertFalse(fx.broker.stderr.contains(cookieSecret) || fx.broker.stdout.contains(cookieSecret), "a console cookie's secret in the log")
        XCTAssertTrue(fx.broker.stderr.contains("refused console") || fx.broker.stdout.contains("refused console"), "refusals are logged")

        // sign-out-all ends every console session of the caller (the curl one is still live).
        let all = try fx.tandem(["console", "sign-out-all"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(all.stdout, "Signed out of 1 console session.\n")
    }
}
