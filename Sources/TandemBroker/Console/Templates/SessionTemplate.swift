/// One session: its facts, each recording with the player and the commands typed, and its events.
enum SessionTemplate {
    /// One recording's player and its list of typed commands (the session page and the export's
    /// `index.html`); `url` is the recording's address, or `#cast-…` for one embedded in the page.
    static let replay = #"""
    <figure class="replay" data-cast="{{url}}">
    <div class="player" aria-label="Terminal replay of {{title}}"></div>
    <figcaption>
    <span class="state" role="status">The replay needs JavaScript; the recording's file plays in asciinema.</span>
    <label>Speed <select class="speed"><option value="0.5">0.5×</option><option value="1" selected>1×</option><option value="2">2×</option><option value="4">4×</option></select></label>
    </figcaption>
    <h4>Commands typed</h4>
    <ol class="commands" aria-label="Commands typed; each jumps the replay to its moment"></ol>
    </figure>
    """#

    static let text = #"""
    {{> top}}
    <p><a href="/console/tickets/{{session.ticket}}">Ticket #{{session.ticket}}</a></p>
    <dl class="facts">
    <dt>Technician</dt><dd>{{session.technician}}</dd>
    <dt>Outcome</dt><dd>{{session.outcome}}</dd>
    {{#session.endReason}}<dt>End reason</dt><dd>{{session.endReason}}</dd>{{/session.endReason}}
    <dt>Began</dt><dd><time datetime="{{session.beganISO}}">{{session.began}}</time></dd>
    <dt>Duration</dt><dd>{{session.duration}}</dd>
    <dt>Scopes</dt><dd>{{session.scopes}}</dd>
    </dl>

    <h2 id="recordings">Recordings</h2>
    {{#noRecording}}<p class="message" role="status">{{noRecording}}</p>{{/noRecording}}
    {{#recordings}}
    <section class="recording" aria-labelledby="rec-{{sha256}}">
    <h3 id="rec-{{sha256}}">{{title}}</h3>
    <p>Recording SHA-256 <code class="hash">{{sha256}}</code>, named by event <a href="/console/tickets/{{ticket}}#event-{{eventID}}">#{{eventSeq}} ({{eventKind}})</a>.
    <a href="{{url}}" download="{{sha256}}.cast">Download (asciicast v2)</a></p>
    {{> replay}}
    </section>
    {{/recordings}}

    <h2 id="events">Events</h2>
    <div class="scroll"><table class="timeline">
    <caption>This session's events, oldest first</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Event</th><th scope="col">Details</th></tr></thead>
    <tbody>
    {{#events}}<tr><td>{{seq}}</td><td><time datetime="{{timeISO}}">{{time}}</time></td><td>{{actor}}</td><td>{{kind}}</td><td class="details">{{details}}</td></tr>
    {{/events}}
    </tbody>
    </table></div>
    {{> bottom}}
    """#
}
