// The web console: who signed in to read the record in a browser, and when that ended.

/// Someone exchanged a one-time sign-in link for a console session (its public id, `con_…`).
public struct ConsoleSignedIn: EventPayload {
    public static let kind = EventKind.consoleSignedIn
    public var console: String
    /// Seconds since 1970.
    public var expires: Int

    public init(console: String, expires: Int) {
        self.console = console
        self.expires = expires
    }
}

/// Console sessions ended: one signed out from its page, or all of a person's (`tandem console sign-out-all`).
public struct ConsoleSignedOut: EventPayload {
    public static let kind = EventKind.consoleSignedOut
    /// `one` or `all`.
    public var scope: String
    public var sessions: Int

    public init(scope: String, sessions: Int) {
        self.scope = scope
        self.sessions = sessions
    }
}
