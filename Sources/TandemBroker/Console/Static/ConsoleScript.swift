/// The console's one script: the terminal replay with its list of typed commands. Pages read
/// without it; it is served from the broker (no inline script, CSP `script-src 'self'`).
///
/// Everything from a recording is put on the page as text (`textContent`), after `visible`,
/// which shows control characters as escapes the way `TerminalText` does on a terminal.
enum ConsoleScript {
    /// The verifier alone (hashing, chain, signatures, recordings), as an export's README shows it.
    static var verifier: String {
        guard let start = text.range(of: "// --- verifier ---"), let end = text.range(of: "// --- end of verifier ---") else { return "" }
        return String(text[start.lowerBound..<end.upperBound])
    }

    static let text = #"""
    "use strict";
    (function () {
      var MAX_COMMANDS = 2000, MAX_COMMAND = 500;

      function hex(n, width) { var s = n.toString(16); while (s.length < width) s = "0" + s; return s; }

      // The characters TerminalText escapes: C0, DEL, C1, bidi marks, embeddings, overrides,
      // isolates, and the line and paragraph separators.
      function isControl(c) {
        return c <= 0x1F || (c >= 0x7F && c <= 0x9F) || c === 0x061C || c === 0x200E || c === 0x200F ||
          c === 0x2028 || c === 0x2029 || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
      }

      function visible(text) {
        var out = "";
        for (var ch of text) {
          var c = ch.codePointAt(0);
          if (!isControl(c)) { out += ch; continue; }
          if (c === 0x0A) out += "\\n"; else if (c === 0x0D) out += "\\r"; else if (c === 0x09) out += "\\t";
          else if (c <= 0xFF) out += "\\x" + hex(c, 2); else out += "\\u{" + hex(c, 4) + "}";
        }
        return out;
      }

      // The lines typed into a shell, from the recording's input ("i") events: each with the time
      // its first key was pressed. Erase keys edit the line; escape sequences (arrows) are left out.
      function typedLines(cast) {
        var lines = [], line = "", start = null, escape = 0;
        var rows = cast.split("\n");
        for (var i = 1; i < rows.length && lines.length < MAX_COMMANDS; i++) {
          var ev;
          try { ev = JSON.parse(rows[i]); } catch (e) { continue; }
          if (!Array.isArray(ev) || ev.length !== 3 || ev[1] !== "i" || typeof ev[0] !== "number" || typeof ev[2] !== "string") continue;
          for (var ch of ev[2]) {
            var c = ch.codePointAt(0);
            if (escape === 1) { escape = (ch === "[" || ch === "O") ? 2 : 0; continue; }
            if (escape === 2) { if (c >= 0x40 && c <= 0x7E) escape = 0; continue; }
            if (c === 0x1B) { escape = 1; continue; }
            if (c === 0x0D || c === 0x0A) {
              if (line.trim() !== "") lines.push({ time: start, text: line });
              line = ""; start = null;
            } else if (c === 0x7F || c === 0x08) {
              line = Array.from(line).slice(0, -1).join("");
            } else if (c === 0x15) {
              line = "";
            } else if (c === 0x03) {
              line = ""; start = null;
            } else if (line.length < MAX_COMMAND) {
              if (start === null) start = ev[0];
              line += ch;
            }
          }
        }
        return lines;
      }

      function clock(seconds) {
        var s = Math.floor(seconds), m = Math.floor(s / 60);
        return (m < 10 ? "0" : "") + m + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
      }

      // What an export embeds: text, or a file's exact bytes as base64.
      function embeddedBytes(id) {
        var el = document.getElementById(id);
        if (!el) throw new Error("this page lacks " + id);
        if (el.dataset.encoding !== "base64") return new TextEncoder().encode(el.textContent);
        var raw = atob(el.textContent.trim());
        var out = new Uint8Array(raw.length);
        for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
        return out;
      }

      function embedded(id) {
        return new TextDecoder().decode(embeddedBytes(id));
      }

      function setState(figure, state, text) {
        figure.dataset.state = state;
        var el = figure.querySelector(".state");
        if (el) el.textContent = text;
      }

      function replay(figure) {
        var target = figure.querySelector(".player");
        var list = figure.querySelector(".commands");
        var speed = figure.querySelector(".speed");
        if (typeof AsciinemaPlayer === "undefined") {
          setState(figure, "unavailable", "The player is not installed on this broker (its operator runs scripts/setup.sh and sets console-assets); the download above plays in asciinema.");
          return;
        }
        setState(figure, "loading", "Loading the recording…");
        // In an export the recording is in the page (a file page may not fetch its neighbours).
        var source = figure.dataset.cast;
        var load = source.charAt(0) === "#"
          ? new Promise(function (done) { done(embedded(source.slice(1))); })
          : fetch(source, { credentials: "same-origin" }).then(function (r) {
              if (!r.ok) throw new Error("the broker answered " + r.status);
              return r.text();
            });
        load.then(function (cast) {
          function make(at, play) {
            if (figure.player) figure.player.dispose();
            var options = { fit: "width", speed: Number(speed.value) || 1, controls: true };
            if (at > 0) options.startAt = at;
            if (play) options.autoPlay = true;
            figure.player = AsciinemaPlayer.create({ data: cast }, target, options);
          }
          make(0, false);
          speed.addEventListener("change", function () {
            figure.player.getCurrentTime().then(function (t) { make(t, true); });
          });
          typedLines(cast).forEach(function (line) {
            var item = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.dataset.seek = String(line.time);
            button.textContent = clock(line.time) + "  " + visible(line.text);
            button.addEventListener("click", function () {
              figure.player.seek(line.time).then(function () { figure.dataset.seeked = String(line.time); });
            });
            item.appendChild(button);
            list.appendChild(item);
          });
          if (!list.children.length) {
            var none = document.createElement("li");
            none.textContent = "No command was typed in this recording.";
            list.appendChild(none);
          }
          setState(figure, "ready", "Play, pause and seek with the player's controls (space, arrow keys); a command below jumps to its moment.");
        }).catch(function (e) {
          setState(figure, "error", "The recording could not be loaded: " + visible(String(e.message || e)) + ". Reload the page to try again.");
        });
      }

      // --- verifier ---
      // Verification the reader does not have to take on trust: the same checks as
      // `tandem audit verify` (ChainVerifier), made here with WebCrypto against a key the reader pinned.
      var KEY_PREFIX = "tandem-audit-ed25519 ";

      function hexOf(buffer) {
        return Array.from(new Uint8Array(buffer)).map(function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
      }

      function sha256(bytes) {
        return crypto.subtle.digest("SHA-256", bytes).then(hexOf);
      }

      function base64Bytes(text) {
        var raw = atob(text);
        var out = new Uint8Array(raw.length);
        for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
        return out;
      }

      async function importAuditKey(text) {
        var t = text.trim();
        if (t.indexOf(KEY_PREFIX) !== 0) throw new Error("that is not an audit key: it starts with '" + KEY_PREFIX.trim() + "' (tandemd info prints it)");
        var raw;
        try { raw = base64Bytes(t.slice(KEY_PREFIX.length)); } catch (e) { raw = null; }
        if (!raw || raw.length !== 32) throw new Error("that audit key is not 32 bytes of base64");
        return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
      }

      async function verifyRecord(record, key, fetchBytes) {
        var enc = new TextEncoder();
        var name = "ticket #" + record.ticket;
        var previous = "0".repeat(64), expected = 1, hashes = {}, problems = [], named = [];
        var TAIL = /,"hash":"([0-9a-f]{64})"\}$/;
        for (var line of record.events) {
          // What the hash covers is the line without its hash; every field is read from that part,
          // so nothing after it (a hash column edited to hold more keys) can change what is checked.
          var tail = TAIL.exec(line);
          if (!tail) { problems.push(name + ": an event line does not end with its hash: the record was edited"); break; }
          var canonical = line.slice(0, tail.index) + "}";
          var ev = JSON.parse(canonical);
          ev.hash = tail[1];
          if (ev.chain !== record.ticket) { problems.push(name + ": event id " + ev.id + " belongs to another chain (" + visible(String(ev.chain)) + ")"); break; }
          if (ev.data && typeof ev.data.recording_sha256 === "string") named.push(ev.data.recording_sha256);
          if (ev.seq !== expected) { problems.push(name + ": event #" + expected + " of the chain is missing (the next one present is #" + ev.seq + ", id " + ev.id + "): events were deleted"); break; }
          if (await sha256(enc.encode(canonical)) !== ev.hash) {
            problems.push(name + ": event #" + ev.seq + " (id " + ev.id + ", " + visible(String(ev.kind)) + ") was altered: its content does not match its hash"); break;
          }
          if (ev.prev !== previous) { problems.push(name + ": event #" + ev.seq + " (id " + ev.id + ") does not link to the event before it: the chain was edited"); break; }
          hashes[ev.seq] = ev.hash; previous = ev.hash; expected++;
        }
        var signed = 0, badSignatures = 0;
        if (!problems.length) {
          for (var mark of record.checkpoints) {
            if (mark.chain !== record.ticket) { problems.push(name + ": a checkpoint of another chain was offered"); break; }
            var text = "tandem-checkpoint-v1\n" + mark.chain + "\n" + mark.seq + "\n" + mark.eventID + "\n" + mark.head + "\n" + mark.timeMicros;
            var ok = false;
            try { ok = await crypto.subtle.verify({ name: "Ed25519" }, key, base64Bytes(mark.signature), enc.encode(text)); } catch (e) { ok = false; }
            if (!ok) { badSignatures++; continue; }
            if (hashes[mark.seq] === undefined) { problems.push(name + ": the signed checkpoint covers event #" + mark.seq + " but the chain ends at #" + (expected - 1) + ": events were deleted"); break; }
            if (hashes[mark.seq] !== mark.head) { problems.push(name + ": event #" + mark.seq + " differs from the one the broker signed at its checkpoint"); break; }
            signed = Math.max(signed, mark.seq);
          }
          if (badSignatures) problems.push(name + ": " + badSignatures + " of " + record.checkpoints.length + " checkpoint signatures do not match the pinned audit key: a wrong key, or checkpoints were altered");
          else if (!signed && record.events.length) problems.push(name + ": no signed checkpoint covers these events, so nothing proves they come from the broker");
        }
        var checked = 0, withheld = 0;
        if (!problems.length) {
          // The recordings are the ones the verified events name, not a list the page was handed.
          var where = {};
          for (var r of record.recordings) if (r.url) where[r.sha256] = r.url;
          for (var sha of new Set(named)) {
            if (!where[sha]) { withheld++; continue; }
            var actual = await sha256(await fetchBytes(where[sha]));
            checked++;
            if (actual !== sha) problems.push(name + ": recording " + visible(sha) + ".cast was altered (its SHA-256 is now " + actual + ")");
          }
        }
        return { ok: !problems.length, problems: problems, events: expected - 1, signed: signed, checkpoints: record.checkpoints.length, recordings: checked, withheld: withheld };
      }
      // --- end of verifier ---

      function verifier(section) {
        var input = section.querySelector("#audit-key"), button = section.querySelector("#verify-here"), out = section.querySelector("#browser-verification");
        // Every page opened from a file shares one storage: there, a key kept could be planted by
        // any other file, so an export asks for it each time.
        var keep = location.protocol !== "file:";
        try { if (keep) input.value = localStorage.getItem("tandem-audit-key") || ""; } catch (e) { /* storage off: paste each time */ }
        out.textContent = "Paste the audit public key once, then verify.";
        button.addEventListener("click", async function () {
          section.dataset.state = "running";
          out.textContent = "Checking…";
          try {
            var key = await importAuditKey(input.value);
            try { if (keep) localStorage.setItem("tandem-audit-key", input.value.trim()); } catch (e) { /* kept for this page only */ }
            var record;
            if (section.dataset.recordInline) {
              record = JSON.parse(embedded(section.dataset.recordInline));
            } else {
              var response = await fetch(section.dataset.record, { credentials: "same-origin" });
              if (!response.ok) throw new Error("the broker answered " + response.status);
              record = await response.json();
            }
            var report = await verifyRecord(record, key, async function (url) {
              // "#cast-…": a recording embedded in this page (an export), as its file's bytes.
              if (url.charAt(0) === "#") return embeddedBytes(url.slice(1));
              var r = await fetch(url, { credentials: "same-origin" });
              if (!r.ok) throw new Error("a recording could not be fetched (" + r.status + ")");
              return new Uint8Array(await r.arrayBuffer());
            });
            section.dataset.state = report.ok ? "ok" : "broken";
            out.textContent = report.ok
              ? "OK: " + report.events + " events, " + report.checkpoints + " signed checkpoints and " + report.recordings + " recordings verified in this browser" +
                (report.withheld ? " (" + report.withheld + " recordings not here to check: other technicians' sessions, or too large for this page; their hashes are on the chain)" : "") +
                (report.events > report.signed ? "; the newest " + (report.events - report.signed) + " events are not signed yet." : ".")
              : "NOT VERIFIED: " + report.problems.map(visible).join(" ");
          } catch (e) {
            section.dataset.state = "error";
            out.textContent = "Could not verify: " + visible(String(e.message || e));
          }
        });
      }

      // A running shell, read-only: the player reads the broker's event stream; nothing is sent back.
      function watchLive(figure) {
        if (typeof AsciinemaPlayer === "undefined") {
          setState(figure, "unavailable", "The player is not installed on this broker (its operator runs scripts/setup.sh and sets console-assets).");
          return;
        }
        figure.player = AsciinemaPlayer.create({ driver: "eventsource", url: figure.dataset.stream, bufferTime: 0 },
                                               figure.querySelector(".player"), { fit: "width", autoPlay: true, controls: false });
        figure.player.addEventListener("ended", function () { setState(figure, "ended", "The shell ended; the session's page holds its recording."); });
        setState(figure, "watching", "Live and read-only: what the technician sees appears here as it happens.");
      }

      document.querySelectorAll("figure.replay[data-cast]").forEach(replay);
      document.querySelectorAll("figure.live[data-stream]").forEach(watchLive);
      document.querySelectorAll("section.verify[data-record], section.verify[data-record-inline]").forEach(verifier);
      window.TandemConsole = { visible: visible, typedLines: typedLines, verifyRecord: verifyRecord };
    })();
    """#
}
