// Tickets and the people registered at the broker.

/// A ticket was opened in the built-in store.
public struct TicketCreated: EventPayload {
    public static let kind = EventKind.ticketCreated
    public var title: String
    public var requester: String
    /// The helpdesk ticket it stands for (`rt:1042`), when it was made by linking one.
    public var external: String?

    public init(title: String, requester: String, external: String? = nil) {
        self.title = title
        self.requester = requester
        self.external = external
    }
}

/// A ticket was given to another person.
public struct TicketAssigned: EventPayload {
    public static let kind = EventKind.ticketAssigned
    public var user: String

    public init(user: String) {
        self.user = user
    }
}

/// An operator registered a person with one key.
public struct UserAdded: EventPayload {
    public static let kind = EventKind.userAdded
    public var user: String
    public var role: String
    public var key: String

    public init(user: String, role: String, key: String) {
        self.user = user
        self.role = role
        self.key = key
    }
}

/// An operator removed a person for good.
public struct UserRemoved: EventPayload {
    public static let kind = EventKind.userRemoved
    public var user: String

    public init(user: String) {
        self.user = user
    }
}

/// An operator stopped a person logging in.
public struct UserDisabled: EventPayload {
    public static let kind = EventKind.userDisabled
    public var user: String

    public init(user: String) {
        self.user = user
    }
}

/// An operator let a disabled person log in again.
public struct UserEnabled: EventPayload {
    public static let kind = EventKind.userEnabled
    public var user: String

    public init(user: String) {
        self.user = user
    }
}

/// A person got another key (by fingerprint).
public struct UserKeyAdded: EventPayload {
    public static let kind = EventKind.userKeyAdded
    public var user: String
    public var key: String

    public init(user: String, key: String) {
        self.user = user
        self.key = key
    }
}

/// A person lost one key (by fingerprint).
public struct UserKeyRemoved: EventPayload {
    public static let kind = EventKind.userKeyRemoved
    public var user: String
    public var key: String

    public init(user: String, key: String) {
        self.user = user
        self.key = key
    }
}

/// A person minted an API token for themselves (over their SSH key); its secret is never on record.
public struct TokenCreated: EventPayload {
    public static let kind = EventKind.tokenCreated
    public var token: String
    public var name: String
    /// Seconds since 1970.
    public var expires: Int

    public init(token: String, name: String, expires: Int) {
        self.token = token
        self.name = name
        self.expires = expires
    }
}

/// An API token was revoked by its owner or an admin.
public struct TokenRevoked: EventPayload {
    public static let kind = EventKind.tokenRevoked
    public var token: String
    public var owner: String

    public init(token: String, owner: String) {
        self.token = token
        self.owner = owner
    }
}
