/// One ticket: who and what, its sessions, the files moved, helpdesk deliveries, and every event.
enum TicketTemplate {
    static let text = #"""
    {{> top}}
    <dl class="facts">
    <dt>Requester</dt><dd>{{ticket.requester}}</dd>
    <dt>Status</dt><dd>{{ticket.status}}</dd>
    <dt>Opened</dt><dd><time datetime="{{ticket.createdISO}}">{{ticket.created}}</time> by {{ticket.createdBy}}</dd>
    {{#assignees}}<dt>Assigned</dt><dd>{{assignees}}</dd>{{/assignees}}
    {{#ticket.external}}<dt>Helpdesk</dt><dd>{{ticket.external}}</dd>{{/ticket.external}}
    <dt>Record</dt><dd><span class="badge {{verification.state}}" id="verification">{{verification.label}}</span> {{verification.detail}}</dd>
    </dl>

    <section class="verify" aria-labelledby="verify-heading" data-record="/console/tickets/{{ticket.id}}/record.json">
    <h2 id="verify-heading">Verify in this browser</h2>
    <p>Your browser checks every event's hash and link, the broker's signatures and every recording you may read,
    against the audit key you pin here (from <code>tandemd info</code>; kept in this browser), without trusting the badge above.</p>
    <p><label for="audit-key">Audit public key</label>
    <input id="audit-key" class="key" type="text" spellcheck="false" autocomplete="off" placeholder="tandem-audit-ed25519 …"></p>
    <p><button type="button" id="verify-here">Verify in this browser</button></p>
    <p id="browser-verification" class="message" role="status" aria-live="polite">This check needs JavaScript; without it, export the ticket and run tandem audit verify.</p>
    </section>

    <h2 id="sessions">Sessions</h2>
    {{^sessions}}<p>No session was asked for on this ticket.</p>{{/sessions}}
    {{#hasSessions}}
    <div class="scroll"><table>
    <caption>Sessions on this ticket</caption>
    <thead><tr><th scope="col">Session</th><th scope="col">Technician</th><th scope="col">Outcome</th><th scope="col">End reason</th><th scope="col">Began</th><th scope="col">Duration</th><th scope="col">Scopes</th></tr></thead>
    <tbody>
    {{#sessions}}<tr><td><a href="/console/sessions/{{id}}">{{id}}</a></td><td>{{technician}}</td><td>{{outcome}}</td><td>{{endReason}}</td><td><time datetime="{{beganISO}}">{{began}}</time></td><td>{{duration}}</td><td>{{scopes}}</td></tr>
    {{/sessions}}
    </tbody>
    </table></div>
    {{/hasSessions}}

    <h2 id="files">Files moved</h2>
    {{^files}}<p>No file was moved in this ticket's sessions.</p>{{/files}}
    {{#hasFiles}}
    <div class="scroll"><table class="files">
    <caption>Every whole file read or written, with its SHA-256</caption>
    <thead><tr><th scope="col">Time</th><th scope="col">Session</th><th scope="col">Direction</th><th scope="col">Path</th><th scope="col">Bytes</th><th scope="col">SHA-256</th></tr></thead>
    <tbody>
    {{#files}}<tr><td><time datetime="{{timeISO}}">{{time}}</time></td><td><a href="/console/sessions/{{session}}">{{session}}</a></td><td>{{direction}}</td><td class="path">{{path}}</td><td>{{bytes}}</td><td class="hash">{{sha256}}{{#capture}} <a href="{{capture}}" download>captured copy</a>{{/capture}}</td></tr>
    {{/files}}
    </tbody>
    </table></div>
    {{/hasFiles}}

    {{#hasDeliveries}}
    <h2 id="deliveries">Helpdesk deliveries</h2>
    <div class="scroll"><table>
    <caption>What the ticket's helpdesk and webhooks were sent</caption>
    <thead><tr><th scope="col">Sink</th><th scope="col">Delivered</th><th scope="col">Waiting</th><th scope="col">Failed</th><th scope="col">Last error</th></tr></thead>
    <tbody>
    {{#deliveries}}<tr><td>{{sink}}</td><td>{{delivered}}</td><td>{{waiting}}</td><td>{{failed}}</td><td>{{lastError}}</td></tr>
    {{/deliveries}}
    </tbody>
    </table></div>
    {{/hasDeliveries}}

    <h2 id="timeline">Timeline</h2>
    <div class="scroll"><table class="timeline">
    <caption>Every event on this ticket's chain, oldest first</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Session</th><th scope="col">Actor</th><th scope="col">Event</th><th scope="col">Details</th></tr></thead>
    <tbody>
    {{#events}}<tr id="event-{{id}}"><td>{{seq}}</td><td><time datetime="{{timeISO}}">{{time}}</time></td><td>{{#session}}<a href="/console/sessions/{{session}}">{{session}}</a>{{/session}}</td><td>{{actor}}</td><td>{{kind}}</td><td class="details">{{details}}</td></tr>
    {{/events}}
    </tbody>
    </table></div>
    {{> bottom}}
    """#
}
