/// The console's one script: the terminal replay with its list of typed commands. Pages read
/// without it; it is served from the broker (no inline script, CSP `script-src 'self'`).
///
/// Everything from a recording is put on the page as text (`textContent`), after `visible`,
/// which shows control characters as escapes the way `TerminalText` does on a terminal.
enum ConsoleScript {
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
        fetch(figure.dataset.cast, { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) throw new Error("the broker answered " + r.status);
          return r.text();
        }).then(function (cast) {
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

      document.querySelectorAll("figure.replay[data-cast]").forEach(replay);
      window.TandemConsole = { visible: visible, typedLines: typedLines };
    })();
    """#
}
