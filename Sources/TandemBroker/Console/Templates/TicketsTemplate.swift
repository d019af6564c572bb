/// The tickets the reader may see: a search form (GET, so it works without JavaScript) and pages of 50.
enum TicketsTemplate {
    static let text = #"""
    {{> top}}
    <form class="filters" method="get" action="/console/tickets" role="search">
    <p><label for="q">Search</label>
    <input id="q" name="q" type="search" value="{{query.text}}" placeholder="number, title, requester"></p>
    <p><label for="status">Status</label>
    <select id="status" name="status">
    <option value="">any</option>
    {{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}
    </select></p>
    <p><label for="technician">Technician</label>
    <input id="technician" name="technician" type="text" value="{{query.technician}}"></p>
    <p><label for="since">Opened from</label>
    <input id="since" name="since" type="date" value="{{query.since}}"></p>
    <p><label for="until">to</label>
    <input id="until" name="until" type="date" value="{{query.until}}"></p>
    <p><button type="submit">Find</button></p>
    </form>
    {{#problem}}<p class="problem" role="alert">{{problem}}</p>{{/problem}}
    <p>{{summary}}</p>
    {{#hasTickets}}
    <div class="scroll"><table>
    <caption>Tickets, newest first</caption>
    <thead><tr><th scope="col">#</th><th scope="col">Title</th><th scope="col">Requester</th><th scope="col">Status</th><th scope="col">Opened by</th><th scope="col">Opened</th><th scope="col">Helpdesk</th></tr></thead>
    <tbody>
    {{#tickets}}<tr><td><a href="/console/tickets/{{id}}">#{{id}}</a></td><td><a href="/console/tickets/{{id}}">{{title}}</a></td><td>{{requester}}</td><td>{{status}}</td><td>{{createdBy}}</td><td><time datetime="{{createdISO}}">{{created}}</time></td><td>{{external}}</td></tr>
    {{/tickets}}
    </tbody>
    </table></div>
    {{/hasTickets}}
    <nav class="pages" aria-label="Pages">
    {{#previous}}<a rel="prev" href="{{previous}}">Newer</a>{{/previous}}
    <span>Page {{page}} of {{pages}}</span>
    {{#next}}<a rel="next" href="{{next}}">Older</a>{{/next}}
    </nav>
    {{> bottom}}
    """#
}
