import TandemCore
import TandemText

/// The offer in words for someone who is not technical.
///
/// Every field the broker passes on (the technician's name, the ticket's title) was typed
/// by someone else: each is cut to a bounded length and escaped to one line, so no field
/// can add a line, move the cursor or hide the scopes and the question.
enum OfferText {
    static func describe(_ offer: Offer) -> String {
        let minutes = max(1, offer.timeLimitSeconds / 60)
        let allowed = offer.scopes.map { "  • \($0.plainWords)" }.joined(separator: "\n")
        return """

            \(who(offer)) from your support team asks to connect to this computer.
              Ticket #\(offer.ticketID): “\(TerminalText.field(offer.ticketTitle, limit: 60))”
              For at most \(minutes) minute\(minutes == 1 ? "" : "s"). They will be able to:
            \(allowed)
            Everything they do is recorded on the ticket. You can end it any time with Ctrl-C.

            """
    }

    static func question(_ offer: Offer) -> String {
        "Allow \(who(offer)) to connect for ticket #\(offer.ticketID)? [y/N] "
    }

    /// The technician's name as it may be shown on one line.
    static func who(_ offer: Offer) -> String { TerminalText.field(offer.technician, limit: 32) }

    /// Only an explicit yes counts.
    static func isYes(_ answer: String?) -> Bool {
        guard let a = answer?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() else { return false }
        return a == "y" || a == "yes"
    }
}
