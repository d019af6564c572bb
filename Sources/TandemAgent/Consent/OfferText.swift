import TandemCore

/// The offer in words for someone who is not technical.
enum OfferText {
    static func describe(_ offer: Offer) -> String {
        let minutes = max(1, offer.timeLimitSeconds / 60)
        let allowed = offer.scopes.map { "  • \($0.plainWords)" }.joined(separator: "\n")
        return """

            \(offer.technician) from your support team asks to connect to this computer.
              Ticket #\(offer.ticketID): \(offer.ticketTitle)
              For at most \(minutes) minute\(minutes == 1 ? "" : "s"). They will be able to:
            \(allowed)
            Everything they do is recorded on the ticket. You can end it any time with Ctrl-C.

            """
    }

    static func question(_ offer: Offer) -> String {
        "Allow \(offer.technician) to connect for ticket #\(offer.ticketID)? [y/N] "
    }

    /// Only an explicit yes counts.
    static func isYes(_ answer: String?) -> Bool {
        guard let a = answer?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() else { return false }
        return a == "y" || a == "yes"
    }
}
