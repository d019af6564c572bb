/// Sessions running now, and watching one read-only (auditors and admins; ending: admins).
enum LiveTemplates {
    static let list = #"""
    {{> top}}
    <p>Sessions running now. Watching one is read-only, and it is recorded on the session.</p>
    {{^sessions}}<p class="message" role="status">No session is running now.</p>{{/sessions}}
    {{#hasSessions}}
    <div class="scroll"><table>
    <caption>Running sessions</caption>
    <thead><tr><th scope="col">Session</th><th scope="col">Ticket</th><th scope="col">Technician</th><th scope="col">Since</th><th scope="col">Watch</th></tr></thead>
    <tbody>
    {{#sessions}}<tr><td><a href="/console/sessions/{{id}}">{{id}}</a></td><td><a href="/console/tickets/{{ticket}}">#{{ticket}}</a></td><td>{{technician}}</td><td><time datetime="{{sinceISO}}">{{since}}</time></td><td>{{#watchable}}<a href="/console/sessions/{{id}}/live">Watch live</a>{{/watchable}}{{^watchable}}no shell running{{/watchable}}</td></tr>
    {{/sessions}}
    </tbody>
    </table></div>
    {{/hasSessions}}
    {{> bottom}}
    """#

    static let watch = #"""
    {{> top}}
    <p><a href="/console/sessions/{{id}}">Session {{id}}</a> on <a href="/console/tickets/{{ticket}}">ticket #{{ticket}}</a>, technician {{technician}}.
    You watch read-only: nothing you type reaches the session.</p>
    <figure class="live" data-stream="/console/sessions/{{id}}/live/stream">
    <div class="player" aria-label="The session's shell, live"></div>
    <figcaption><span class="state" role="status">Watching live needs JavaScript.</span></figcaption>
    </figure>
    {{#canEnd}}
    <form class="end" method="post" action="/console/sessions/{{id}}/end">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <p><label for="reason">Reason for ending it (both sides see it, and the record keeps it)</label>
    <input id="reason" name="reason" type="text" required maxlength="200"></p>
    <p><button type="submit">End this session</button></p>
    </form>
    {{/canEnd}}
    {{> bottom}}
    """#
}
