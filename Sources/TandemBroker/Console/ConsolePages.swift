import Hummingbird
import Mustache

/// The console's templates, parsed once when the broker starts, and how a page is rendered.
struct ConsolePages: Sendable {
    private let library: MustacheLibrary

    /// Every template by name; the frame's parts are partials of the others.
    static let templates: [String: String] = [
        "top": FrameTemplates.top, "bottom": FrameTemplates.bottom, "message": FrameTemplates.message, "sign-in": FrameTemplates.signIn, "replay": SessionTemplate.replay,
        "tickets": TicketsTemplate.text, "ticket": TicketTemplate.text, "session": SessionTemplate.text,
        "live": LiveTemplates.list, "watch": LiveTemplates.watch, "export": ExportTemplate.text,
    ]

    init() throws {
        MustacheContentTypes.register(ScalarHTML(), named: ScalarHTML.name)
        var library = MustacheLibrary()
        for (name, text) in Self.templates { try library.register("{{% CONTENT_TYPE: \(ScalarHTML.name)}}" + text, named: name) }
        self.library = library
    }

    func html(_ page: Any, _ name: String) -> String? {
        library.render(page, withTemplate: name)
    }

    func render(_ page: Any, _ name: String, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = html(page, name) else {
            return ConsoleResponse.page("<!doctype html><title>Tandem console</title><p>This page could not be made.</p>", status: .internalServerError)
        }
        return ConsoleResponse.page(html, status: status)
    }

    /// A page that only says something, with who is signed in when someone is.
    func message(title: String, text: String, status: HTTPResponse.Status, context: APIRequestContext,
                 link: MessagePage.Link? = nil) -> Response {
        render(MessagePage(frame: frame(title, context: context), text: text, link: link), "message", status: status)
    }

    func frame(_ title: String, heading: String? = nil, context: APIRequestContext, player: Bool = false) -> PageFrame {
        var who: PageFrame.Who?
        if let caller = context.caller, let cookie = context.consoleCookie {
            who = PageFrame.Who(name: ConsoleText.field(caller.user.name, limit: 64), role: caller.user.role.rawValue,
                                csrf: ConsoleCookie.csrfToken(for: cookie), watcher: caller.user.role != .technician)
        }
        return PageFrame(title: ConsoleText.field(title, limit: 120), heading: ConsoleText.field(heading ?? title, limit: 300), who: who, player: player)
    }
}

struct MessagePage {
    var frame: PageFrame
    var text: String
    var link: Link?

    struct Link {
        var href: String
        var label: String
    }
}

/// HTML escaping one Unicode scalar at a time. Mustache's own escaping looks at whole characters,
/// so a quote followed by a combining mark (one character) would pass unescaped and end an attribute.
struct ScalarHTML: MustacheContentType {
    static let name = "TANDEM_HTML"

    func escapeText(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
