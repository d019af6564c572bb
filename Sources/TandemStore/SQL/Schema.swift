import SQLKit

/// The schema, in steps applied in order; each engine records how far its database got
/// (SQLite in `PRAGMA user_version`, PostgreSQL in `schema_version`).
enum Schema {
    /// SQLite: the history every existing broker file went through, kept as it was.
    static let sqlite: [[String]] = [
        [
            "CREATE TABLE users(name TEXT PRIMARY KEY, role TEXT NOT NULL, public_key TEXT NOT NULL, created REAL NOT NULL)",
            """
            CREATE TABLE tickets(id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, requester TEXT NOT NULL,
                                 status TEXT NOT NULL, created REAL NOT NULL)
            """,
            """
            CREATE TABLE sessions(id TEXT PRIMARY KEY, ticket_id INTEGER NOT NULL REFERENCES tickets(id),
                                  technician TEXT NOT NULL, scopes TEXT NOT NULL, code_hash TEXT NOT NULL UNIQUE,
                                  state TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
                                  time_limit INTEGER NOT NULL, end_reason TEXT)
            """,
            """
            CREATE TABLE events(id INTEGER PRIMARY KEY, chain INTEGER NOT NULL, seq INTEGER NOT NULL,
                                time_us INTEGER NOT NULL, session_id TEXT, actor TEXT NOT NULL, kind TEXT NOT NULL,
                                data TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE(chain, seq))
            """,
            "CREATE INDEX events_session ON events(session_id, id)",
            """
            CREATE TABLE checkpoints(id INTEGER PRIMARY KEY AUTOINCREMENT, chain INTEGER NOT NULL, seq INTEGER NOT NULL,
                                     event_id INTEGER NOT NULL, head TEXT NOT NULL, time_us INTEGER NOT NULL,
                                     signature TEXT NOT NULL)
            """,
            "CREATE INDEX checkpoints_chain ON checkpoints(chain, seq)",
        ],
        // Users with a lifecycle and several keys; tickets with a creator and assignees.
        [
            "ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active'",
            "CREATE TABLE user_keys(\"user\" TEXT NOT NULL, public_key TEXT NOT NULL, added REAL NOT NULL, PRIMARY KEY(\"user\", public_key))",
            "INSERT INTO user_keys(\"user\", public_key, added) SELECT name, public_key, created FROM users",
            "ALTER TABLE tickets ADD COLUMN created_by TEXT",
            """
            UPDATE tickets SET created_by = (SELECT actor FROM events WHERE chain = tickets.id AND kind = 'ticket_created' ORDER BY seq LIMIT 1)
            """,
            """
            CREATE TABLE ticket_assignees(ticket_id INTEGER NOT NULL REFERENCES tickets(id), "user" TEXT NOT NULL,
                                          assigned_by TEXT NOT NULL, time REAL NOT NULL, PRIMARY KEY(ticket_id, "user"))
            """,
            """
            INSERT OR IGNORE INTO ticket_assignees(ticket_id, "user", assigned_by, time)
                SELECT DISTINCT chain, actor, 'upgrade', 0 FROM events
                WHERE kind = 'session_requested' AND chain IN (SELECT id FROM tickets)
                  AND actor != COALESCE((SELECT created_by FROM tickets WHERE id = chain), '')
            """,
        ],
        // API tokens, stored as the SHA-256 of their secret.
        [
            """
            CREATE TABLE tokens(id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE,
                                created REAL NOT NULL, expires REAL NOT NULL, revoked REAL)
            """,
            "CREATE INDEX tokens_owner ON tokens(owner)",
        ],
        // Tickets linked to a helpdesk; the outbox of what is owed to each sink.
        [
            "ALTER TABLE tickets ADD COLUMN external TEXT",
            "CREATE UNIQUE INDEX tickets_external ON tickets(external)",
            """
            CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL, chain INTEGER NOT NULL,
                                event_id INTEGER, checkpoint_id INTEGER, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                                next_us INTEGER NOT NULL, batch TEXT, last_error TEXT, created_us INTEGER NOT NULL, done_us INTEGER)
            """,
            "CREATE INDEX outbox_state ON outbox(state, id)",
            "CREATE INDEX outbox_chain ON outbox(chain, id)",
        ],
    ]

    /// PostgreSQL: the same tables as SQLite's latest step, in PostgreSQL's types.
    static let postgres: [[String]] = [
        [
            """
            CREATE TABLE users(name TEXT PRIMARY KEY, role TEXT NOT NULL, public_key TEXT NOT NULL,
                               created DOUBLE PRECISION NOT NULL, status TEXT NOT NULL DEFAULT 'active')
            """,
            """
            CREATE TABLE user_keys("user" TEXT NOT NULL, public_key TEXT NOT NULL, added DOUBLE PRECISION NOT NULL,
                                   PRIMARY KEY("user", public_key))
            """,
            """
            CREATE TABLE tickets(id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL, requester TEXT NOT NULL, status TEXT NOT NULL,
                                 created DOUBLE PRECISION NOT NULL, created_by TEXT)
            """,
            """
            CREATE TABLE sessions(id TEXT PRIMARY KEY, ticket_id BIGINT NOT NULL REFERENCES tickets(id),
                                  technician TEXT NOT NULL, scopes TEXT NOT NULL, code_hash TEXT NOT NULL UNIQUE,
                                  state TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL,
                                  time_limit BIGINT NOT NULL, end_reason TEXT)
            """,
            """
            CREATE TABLE events(id BIGINT PRIMARY KEY, chain BIGINT NOT NULL, seq BIGINT NOT NULL, time_us BIGINT NOT NULL,
                                session_id TEXT, actor TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
                                prev TEXT NOT NULL, hash TEXT NOT NULL, UNIQUE(chain, seq))
            """,
            "CREATE INDEX events_session ON events(session_id, id)",
            """
            CREATE TABLE checkpoints(id BIGSERIAL PRIMARY KEY, chain BIGINT NOT NULL, seq BIGINT NOT NULL,
                                     event_id BIGINT NOT NULL, head TEXT NOT NULL, time_us BIGINT NOT NULL, signature TEXT NOT NULL)
            """,
            "CREATE INDEX checkpoints_chain ON checkpoints(chain, seq)",
            """
            CREATE TABLE ticket_assignees(ticket_id BIGINT NOT NULL REFERENCES tickets(id), "user" TEXT NOT NULL,
                                          assigned_by TEXT NOT NULL, time DOUBLE PRECISION NOT NULL, PRIMARY KEY(ticket_id, "user"))
            """,
        ],
        [
            """
            CREATE TABLE tokens(id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE,
                                created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION)
            """,
            "CREATE INDEX tokens_owner ON tokens(owner)",
        ],
        [
            "ALTER TABLE tickets ADD COLUMN external TEXT",
            "CREATE UNIQUE INDEX tickets_external ON tickets(external)",
            """
            CREATE TABLE outbox(id BIGSERIAL PRIMARY KEY, sink TEXT NOT NULL, chain BIGINT NOT NULL, event_id BIGINT,
                                checkpoint_id BIGINT, state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, next_us BIGINT NOT NULL,
                                batch TEXT, last_error TEXT, created_us BIGINT NOT NULL, done_us BIGINT)
            """,
            "CREATE INDEX outbox_state ON outbox(state, id)",
            "CREATE INDEX outbox_chain ON outbox(chain, id)",
        ],
        // Several brokers on one database (issue 16): who is running, and which one owns each session.
        // Times are the database's clock, so replicas whose clocks differ still agree on who is late.
        [
            """
            CREATE TABLE replicas(id TEXT PRIMARY KEY, peer_address TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                                  heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(), state TEXT NOT NULL DEFAULT 'live')
            """,
            "ALTER TABLE sessions ADD COLUMN owner_replica TEXT",
            "CREATE INDEX sessions_owner ON sessions(owner_replica)",
        ],
        // Wrong code guesses, counted for all replicas at once; a row is a guess being looked at
        // until it is settled as wrong (or deleted, when the code was right).
        [
            """
            CREATE TABLE wrong_guesses(id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
                                       settled BOOLEAN NOT NULL DEFAULT FALSE)
            """,
            "CREATE INDEX wrong_guesses_source ON wrong_guesses(source, at)",
            "CREATE INDEX wrong_guesses_at ON wrong_guesses(at)",
            // Where each replica writes unfinished recordings, for a survivor to finish a lost one's.
            "ALTER TABLE replicas ADD COLUMN parts_folder TEXT",
            // Asks to end a session, made on a replica that does not hold it (the HTTP API, the console).
            """
            CREATE TABLE end_requests(session_id TEXT PRIMARY KEY REFERENCES sessions(id), reason TEXT NOT NULL, actor TEXT NOT NULL,
                                      at TIMESTAMPTZ NOT NULL DEFAULT now())
            """,
        ],
    ]

    static func apply(to store: SQLStore) async throws(StoreError) {
        if store.isPostgres {
            try await store.transaction { db in
                // Two brokers starting at once: one migrates, the other waits and finds it done.
                try await db.raw("SELECT pg_advisory_xact_lock(\(bind: Self.migrationLock))").run()
                try await db.raw("CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL)").run()
                let current = try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").first()?
                    .decode(column: "v", as: Int.self) ?? 0
                for (index, step) in postgres.enumerated() where index >= current {
                    for statement in step { try await db.raw(SQLQueryString(statement)).run() }
                    try await db.raw("INSERT INTO schema_version(version) VALUES(\(bind: index + 1))").run()
                }
            }
        } else {
            let current = try await store.read { db in
                try await db.raw("PRAGMA user_version").first()?.decode(column: "user_version", as: Int.self) ?? 0
            }
            for (index, step) in sqlite.enumerated() where index >= current {
                try await store.transaction { db in
                    for statement in step { try await db.raw(SQLQueryString(statement)).run() }
                    try await db.raw("PRAGMA user_version = \(unsafeRaw: String(index + 1))").run()
                }
            }
        }
    }

    /// The advisory lock key that serialises schema changes ("tandem" in ASCII).
    static let migrationLock: Int64 = 0x74616E64656D
}
