import TandemCore

/// The console's readers of foreign bytes (a Cookie header, a form body, the search query,
/// a presented link or cookie), for the `console` fuzz target.
public enum ConsoleProbe {
    public static func parse(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let cookie = ConsoleCookie.value(in: text) {
            _ = ConsoleCookie.sameToken(ConsoleCookie.csrfToken(for: cookie), text)
        }
        _ = try? ConsoleForm.parse(bytes)
        let form = TicketFilterForm(query: text)
        _ = form.link(page: form.query.page + 1)
        _ = SecretToken.id(of: text, prefix: ConsoleService.sessionPrefix)
        _ = SecretToken.id(of: text, prefix: ConsoleService.linkPrefix)
        _ = try? SessionID.parse(text)
    }
}
