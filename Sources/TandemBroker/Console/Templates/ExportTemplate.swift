/// `index.html` of an export bundle: the ticket's timeline and its recordings, opened from a file
/// with no server and no network. Scripts and styles are files beside it in the bundle; each
/// recording (base64, its exact bytes) and the chain (escaped text) are embedded in hidden `<pre>`
/// elements: a file page may not fetch its neighbours.
enum ExportTemplate {
    static let text = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src data:">
    <meta name="referrer" content="no-referrer">
    <title>Ticket #{{ticket}} · Tandem export</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="console.css">
    {{#player}}<link rel="stylesheet" href="asciinema-player.css">{{/player}}
    </head>
    <body>
    <a class="skip" href="#main">Skip to the content</a>
    <main id="main">
    <h1>Ticket #{{ticket}}: {{title}}</h1>
    <dl class="facts">
    <dt>Exported</dt><dd><time datetime="{{exportedISO}}">{{exported}}</time> by {{exportedBy}}</dd>
    <dt>Audit key in this bundle</dt><dd><code class="hash">{{auditKey}}</code> (compare it with the one your broker's operator gave you)</dd>
    <dt>Events</dt><dd>{{eventCount}}, {{checkpointCount}} signed checkpoints</dd>
    </dl>

    <section class="verify" aria-labelledby="verify-heading" data-record-inline="record">
    <h2 id="verify-heading">Verify in this browser</h2>
    <p>Checks every event's hash and link, the broker's signatures and every recording in this bundle against the audit key
    you paste here (from your broker's operator, not from this file). The same check runs offline with <code>tandem audit verify</code>;
    README.txt holds this page's verifier.</p>
    <p><label for="audit-key">Audit public key</label>
    <input id="audit-key" class="key" type="text" spellcheck="false" autocomplete="off" placeholder="tandem-audit-ed25519 …"></p>
    <p><button type="button" id="verify-here">Verify in this browser</button></p>
    <p id="browser-verification" class="message" role="status" aria-live="polite">This check needs JavaScript.</p>
    </section>

    <h2 id="recordings">Recordings</h2>
    {{^recordings}}<p>This ticket's sessions left no terminal recording.</p>{{/recordings}}
    {{#recordings}}
    <section class="recording" aria-labelledby="rec-{{sha256}}">
    <h3 id="rec-{{sha256}}">{{title}}</h3>
    <p>Session {{session}}, recording SHA-256 <code class="hash">{{sha256}}</code>, file <code class="hash">recordings/{{sha256}}.cast</code>.</p>
    {{#withheld}}<p class="message">This recording belongs to another technician's session and was withheld from this export; its hash is on the chain.</p>{{/withheld}}
    {{#tooLarge}}<p class="message">This recording is too large to play in this page: play <code class="hash">recordings/{{sha256}}.cast</code> with asciinema, and check it with tandem audit verify.</p>{{/tooLarge}}
    {{^withheld}}{{^tooLarge}}
    {{> replay}}
    <pre hidden id="cast-{{sha256}}" data-encoding="base64">{{cast}}</pre>
    {{/tooLarge}}{{/withheld}}
    </section>
    {{/recordings}}

    <h2 id="timeline">Timeline</h2>
    <div class="scroll"><table class="timeline">
    <caption>Every event on this ticket's chain, oldest first</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Session</th><th scope="col">Actor</th><th scope="col">Event</th><th scope="col">Details</th></tr></thead>
    <tbody>
    {{#events}}<tr id="event-{{id}}"><td>{{seq}}</td><td><time datetime="{{timeISO}}">{{time}}</time></td><td>{{session}}</td><td>{{actor}}</td><td>{{kind}}</td><td class="details">{{details}}</td></tr>
    {{/events}}
    </tbody>
    </table></div>
    <pre hidden id="record">{{record}}</pre>
    </main>
    {{#player}}<script src="asciinema-player.js"></script>{{/player}}
    <script src="console.js"></script>
    </body>
    </html>
    """#
}
