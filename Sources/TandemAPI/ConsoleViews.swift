import Foundation

/// A one-time sign-in link for the web console: its secret, shown once, valid `expiresIn` seconds and once.
public struct ConsoleLinkView: Codable, Sendable, Equatable {
    /// The path and query to open on the broker's address (`/console/sign-in?link=lnk_….…`).
    public var path: String
    public var expiresIn: Int

    enum CodingKeys: String, CodingKey { case path, expiresIn = "expires_in" }

    public init(path: String, expiresIn: Int) {
        self.path = path
        self.expiresIn = expiresIn
    }
}

/// What `tandem console sign-out-all` ended.
public struct ConsoleSignOutView: Codable, Sendable, Equatable {
    public var signedOut: Int

    enum CodingKeys: String, CodingKey { case signedOut = "signed_out" }

    public init(signedOut: Int) {
        self.signedOut = signedOut
    }
}

/// Which tickets the console lists: text, status, technician and a date range, one page of `pageSize`.
public struct TicketQuery: Sendable, Equatable {
    public static let pageSize = 50
    /// Matched against the number, title, requester and helpdesk link, ignoring case.
    public var text: String?
    public var status: String?
    /// Who opened the ticket or is assigned to it.
    public var technician: String?
    /// Created on or after this day (UTC), and on or before `until`.
    public var since: Date?
    public var until: Date?
    /// From 1.
    public var page: Int

    public init(text: String? = nil, status: String? = nil, technician: String? = nil, since: Date? = nil, until: Date? = nil, page: Int = 1) {
        self.text = text
        self.status = status
        self.technician = technician
        self.since = since
        self.until = until
        self.page = page
    }
}

/// One page of tickets, and how many matched in all.
public struct TicketPage: Sendable, Equatable {
    public var tickets: [TicketView]
    public var total: Int
    public var page: Int

    public var pages: Int { max(1, (total + TicketQuery.pageSize - 1) / TicketQuery.pageSize) }

    public init(tickets: [TicketView], total: Int, page: Int) {
        self.tickets = tickets
        self.total = total
        self.page = page
    }
}

/// A session running now, as the console's live page lists it (auditors and admins).
public struct LiveSessionView: Sendable, Equatable {
    public var id: String
    public var ticket: Int
    public var technician: String
    /// Seconds since 1970: when it was asked for.
    public var since: Double
    /// Whether a shell runs in it now (what there is to watch).
    public var watchable: Bool

    public init(id: String, ticket: Int, technician: String, since: Double, watchable: Bool) {
        self.id = id
        self.ticket = ticket
        self.technician = technician
        self.since = since
        self.watchable = watchable
    }
}
