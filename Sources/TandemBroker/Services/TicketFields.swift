import TandemCore
import TandemText

/// What a ticket's title and requester may hold when they are entered.
///
/// They are shown to the end-user in the offer and to every reader of the ticket, so
/// control characters are refused outright, with the position of the first one, rather
/// than stored and escaped later.
enum TicketFields {
    /// The longest title; a helpdesk's subject is cut to it.
    static let maxTitleCharacters = 200

    static func validate(title: String, requester: String) throws(TandemError) {
        guard !title.isEmpty, title.count <= maxTitleCharacters else { throw .invalidArgument("a ticket title has 1 to 200 characters") }
        guard !requester.isEmpty, requester.count <= 64 else { throw .invalidArgument("a requester's name has 1 to 64 characters") }
        try refuseControls(title, field: "ticket title")
        try refuseControls(requester, field: "requester name")
    }

    /// A token's name is listed to its owner and to admins, and put on record.
    static func validate(tokenName name: String) throws(TandemError) {
        guard !name.isEmpty, name.count <= 64 else { throw .invalidArgument("a token's name has 1 to 64 characters") }
        try refuseControls(name, field: "token name")
    }

    static func refuseControls(_ text: String, field: String) throws(TandemError) {
        guard let bad = TerminalText.firstControl(in: text) else { return }
        let position = text.unicodeScalars.firstIndex(of: bad).map { text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: $0) + 1 } ?? 0
        throw .invalidArgument("a \(field) may not contain control characters (\(TerminalText.name(bad)) at character \(position)); type it again without them")
    }
}
