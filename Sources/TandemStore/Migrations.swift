/// The schema, applied in order; `user_version` records how far a database got.
enum Migrations {
    static let steps: [String] = [
        """
        CREATE TABLE users(name TEXT PRIMARY KEY, role TEXT NOT NULL, public_key TEXT NOT NULL, created REAL NOT NULL);
        CREATE TABLE tickets(id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, requester TEXT NOT NULL,
                             status TEXT NOT NULL, created REAL NOT NULL);
        CREATE TABLE sessions(id TEXT PRIMARY KEY, ticket_id INTEGER NOT NULL REFERENCES tickets(id),
                              technician TEXT NOT NULL, scopes TEXT NOT NULL, code_hash TEXT NOT NULL UNIQUE,
                              state TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
                              time_limit INTEGER NOT NULL, end_reason TEXT);
        CREATE TABLE events(id INTEGER PRIMARY KEY, chain INTEGER NOT NULL, seq INTEGER NOT NULL,
                            time_us INTEGER NOT NULL, session_id TEXT, actor TEXT NOT NULL, kind TEXT NOT NULL,
                            data TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE(chain, seq));
        CREATE INDEX events_session ON events(session_id, id);
        CREATE TABLE checkpoints(id INTEGER PRIMARY KEY AUTOINCREMENT, chain INTEGER NOT NULL, seq INTEGER NOT NULL,
                                 event_id INTEGER NOT NULL, head TEXT NOT NULL, time_us INTEGER NOT NULL,
                                 signature TEXT NOT NULL);
        CREATE INDEX checkpoints_chain ON checkpoints(chain, seq);
        """,
        // Users with a lifecycle and several keys; tickets with a creator and assignees.
        """
        ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
        CREATE TABLE user_keys(user TEXT NOT NULL, public_key TEXT NOT NULL, added REAL NOT NULL, PRIMARY KEY(user, public_key));
        INSERT INTO user_keys(user, public_key, added) SELECT name, public_key, created FROM users;
        ALTER TABLE tickets ADD COLUMN created_by TEXT;
        UPDATE tickets SET created_by = (SELECT actor FROM events WHERE chain = tickets.id AND kind = 'ticket_created' ORDER BY seq LIMIT 1);
        CREATE TABLE ticket_assignees(ticket_id INTEGER NOT NULL REFERENCES tickets(id), user TEXT NOT NULL,
                                      assigned_by TEXT NOT NULL, time REAL NOT NULL, PRIMARY KEY(ticket_id, user));
        INSERT OR IGNORE INTO ticket_assignees(ticket_id, user, assigned_by, time)
            SELECT DISTINCT chain, actor, 'upgrade', 0 FROM events
            WHERE kind = 'session_requested' AND chain IN (SELECT id FROM tickets) AND actor != COALESCE((SELECT created_by FROM tickets WHERE id = chain), '');
        """,
    ]

    static func apply(to conn: SQLiteConnection) throws(StoreError) {
        let current = Int(try conn.query("PRAGMA user_version").first?.first?.int ?? 0)
        for (index, sql) in steps.enumerated() where index >= current {
            try conn.execute("BEGIN IMMEDIATE; \(sql) PRAGMA user_version = \(index + 1); COMMIT;")
        }
    }
}
