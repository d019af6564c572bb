/// The parts every console page shares: the head, the navigation with who is signed in, and the end.
///
/// Every `{{value}}` is HTML-escaped by Mustache; the console never uses `{{{…}}}` or `{{&…}}`
/// (a test reads every template for them), so no string reaches a page unescaped.
enum FrameTemplates {
    static let top = #"""
    {{#frame}}
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · Tandem console</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/console/assets/console.css">
    {{#player}}<link rel="stylesheet" href="/console/assets/asciinema-player.css">{{/player}}
    </head>
    <body>
    <a class="skip" href="#main">Skip to the content</a>
    <header class="bar">
    <nav aria-label="Console">
    <a href="/console/tickets">Tickets</a>
    {{#who.watcher}}<a href="/console/live">Live sessions</a>{{/who.watcher}}
    </nav>
    {{#who}}
    <form class="who" method="post" action="/console/sign-out">
    <span>Signed in as <strong>{{name}}</strong> ({{role}})</span>
    <input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit">Sign out</button>
    </form>
    {{/who}}
    </header>
    <main id="main">
    <h1>{{heading}}</h1>
    {{/frame}}
    """#

    static let bottom = #"""
    </main>
    {{#frame}}{{#player}}<script src="/console/assets/asciinema-player.js"></script>{{/player}}{{/frame}}
    <script src="/console/assets/console.js"></script>
    </body>
    </html>
    """#

    /// What a sign-in link opens: whose account, and a button that spends the link.
    static let signIn = #"""
    {{> top}}
    <p>This link signs you in to the Tandem console as <strong>{{name}}</strong> ({{role}}), for 8 hours.
    If that is not you, close this page.</p>
    <form method="post" action="/console/sign-in">
    <input type="hidden" name="link" value="{{link}}">
    <input type="hidden" name="nonce" value="{{nonce}}">
    <p><button type="submit" id="sign-in">Sign in as {{name}}</button></p>
    </form>
    {{> bottom}}
    """#

    /// A page that only says something: signed out, refused, not found.
    static let message = #"""
    {{> top}}
    <p class="message" role="status">{{text}}</p>
    {{#link}}<p><a href="{{href}}">{{label}}</a></p>{{/link}}
    {{> bottom}}
    """#
}
