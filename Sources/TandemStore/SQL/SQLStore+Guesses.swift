import Foundation
import SQLKit
import TandemCore

// MARK: - Wrong guesses shared by replicas (PostgreSQL only)

extension SQLStore: GuessLedger {
    /// A guess taken but never settled (its replica died mid-lookup) stops holding a place after this.
    static let guessInFlightLimit: Double = 30
    /// Advisory locks on one source's guesses ("gues"), apart from the chains' and the jobs'.
    static let guessLockSpace: Int32 = 0x67756573

    public func reserveGuess(source: String, limits: GuessLimiter.Limits) async throws(StoreError) -> GuessReservation {
        guard isPostgres else { throw .sql("several brokers need PostgreSQL; a SQLite database serves one broker") }
        return try await transaction { db in
            // One source's guesses are counted and taken one at a time, on every replica.
            try await db.raw("SELECT pg_advisory_xact_lock(\(bind: Self.guessLockSpace), hashtext(\(bind: source)))").run()
            let now = try await db.raw("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").first()?
                .decode(column: "now", as: Double.self) ?? Date().timeIntervalSince1970
            let since = now - limits.window
            // Old rows go a few at a time, skipping rows another replica is deleting (no deadlock).
            try await db.raw("""
                DELETE FROM wrong_guesses WHERE id IN
                  (SELECT id FROM wrong_guesses WHERE at <= \(bind: since) ORDER BY at LIMIT 100 FOR UPDATE SKIP LOCKED)
                """).run()
            // A guess never settled (its replica died mid-lookup, or could not settle it) counts as
            // wrong after a while: a lost settlement must not hand a guesser a free try.
            let stale = now - Self.guessInFlightLimit
            let row = try await db.raw("""
                SELECT count(*) FILTER (WHERE settled OR at <= \(bind: stale)) AS wrong,
                       count(*) FILTER (WHERE NOT settled AND at > \(bind: stale)) AS flying,
                       min(at) FILTER (WHERE settled OR at <= \(bind: stale)) AS oldest
                FROM wrong_guesses WHERE source = \(bind: source) AND at > \(bind: since)
                """).first()
            let wrong = try row?.decode(column: "wrong", as: Int.self) ?? 0
            let flying = try row?.decode(column: "flying", as: Int.self) ?? 0
            // Everyone's wrong guesses matter only up to the global limit: counted no further,
            // so a flood from many sources does not make each guess a scan of the whole table.
            var everyone = 0
            if wrong > 0, wrong < limits.perSource {
                everyone = try await db.raw("""
                    SELECT count(*) AS n FROM (SELECT 1 FROM wrong_guesses WHERE settled AND at > \(bind: since) LIMIT \(bind: limits.global)) AS w
                    """).first()?.decode(column: "n", as: Int.self) ?? 0
            }
            if wrong > 0, wrong >= limits.perSource || everyone >= limits.global,
               let oldest = try row?.decode(column: "oldest", as: Double?.self) {
                // As on one broker: free again once the source's own oldest wrong guess leaves the window.
                return .refused(retryAfterSeconds: max(1, Int((oldest + limits.window - now).rounded(.up))))
            }
            guard wrong + flying < limits.perSource else { return .busy }
            let id = try await db.raw("""
                INSERT INTO wrong_guesses(source, at) VALUES(\(bind: source), \(bind: now)) RETURNING id
                """).first()?.decode(column: "id", as: Int64.self)
            guard let id else { throw StoreError.sql("the database did not number a guess") }
            return .granted(id: id)
        }
    }

    public func guessBlock(source: String, limits: GuessLimiter.Limits) async throws(StoreError) -> Int? {
        guard isPostgres else { throw .sql("several brokers need PostgreSQL; a SQLite database serves one broker") }
        return try await read { db in
            let now = try await db.raw("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").first()?
                .decode(column: "now", as: Double.self) ?? Date().timeIntervalSince1970
            let since = now - limits.window
            let stale = now - Self.guessInFlightLimit
            let row = try await db.raw("""
                SELECT count(*) FILTER (WHERE settled OR at <= \(bind: stale)) AS wrong,
                       min(at) FILTER (WHERE settled OR at <= \(bind: stale)) AS oldest
                FROM wrong_guesses WHERE source = \(bind: source) AND at > \(bind: since)
                """).first()
            let wrong = try row?.decode(column: "wrong", as: Int.self) ?? 0
            guard wrong > 0, let oldest = try row?.decode(column: "oldest", as: Double?.self) else { return nil }
            var everyone = 0
            if wrong < limits.perSource {
                everyone = try await db.raw("""
                    SELECT count(*) AS n FROM (SELECT 1 FROM wrong_guesses WHERE settled AND at > \(bind: since) LIMIT \(bind: limits.global)) AS w
                    """).first()?.decode(column: "n", as: Int.self) ?? 0
            }
            guard wrong >= limits.perSource || everyone >= limits.global else { return nil }
            return max(1, Int((oldest + limits.window - now).rounded(.up)))
        }
    }

    public func settleGuess(_ id: Int64, wrong: Bool) async throws(StoreError) {
        guard isPostgres else { throw .sql("several brokers need PostgreSQL; a SQLite database serves one broker") }
        try await read { db in
            if wrong {
                try await db.raw("UPDATE wrong_guesses SET settled = TRUE WHERE id = \(bind: id)").run()
            } else {
                try await db.raw("DELETE FROM wrong_guesses WHERE id = \(bind: id)").run()
            }
        }
    }
}
