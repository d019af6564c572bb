import Foundation
import SQLKit
import TandemAudit

// MARK: - Copying a whole broker from one engine to another (`tandemd migrate`)

extension SQLStore {
    private enum ColumnType { case text, optionalText, integer, optionalInteger, real, optionalReal }

    /// Every table and its columns, parents before children, as both engines hold them.
    private static let tables: [(name: String, columns: [(String, ColumnType)], order: String)] = [
        ("users", [("name", .text), ("role", .text), ("public_key", .text), ("created", .real), ("status", .text)], "name"),
        ("user_keys", [("user", .text), ("public_key", .text), ("added", .real)], "\"user\", public_key"),
        ("tickets", [("id", .integer), ("title", .text), ("requester", .text), ("status", .text), ("created", .real),
                     ("created_by", .optionalText), ("external", .optionalText)], "id"),
        ("ticket_assignees", [("ticket_id", .integer), ("user", .text), ("assigned_by", .text), ("time", .real)], "ticket_id, \"user\""),
        ("sessions", [("id", .text), ("ticket_id", .integer), ("technician", .text), ("scopes", .text), ("code_hash", .text),
                      ("state", .text), ("created", .real), ("expires", .real), ("time_limit", .integer), ("end_reason", .optionalText)], "id"),
        ("events", [("id", .integer), ("chain", .integer), ("seq", .integer), ("time_us", .integer), ("session_id", .optionalText),
                    ("actor", .text), ("kind", .text), ("data", .text), ("prev", .text), ("hash", .text)], "id"),
        ("tokens", [("id", .text), ("owner", .text), ("name", .text), ("secret_hash", .text), ("created", .real), ("expires", .real),
                    ("revoked", .optionalReal)], "id"),
        ("checkpoints", [("id", .integer), ("chain", .integer), ("seq", .integer), ("event_id", .integer), ("head", .text),
                         ("time_us", .integer), ("signature", .text)], "id"),
        ("outbox", [("id", .integer), ("sink", .text), ("chain", .integer), ("event_id", .optionalInteger),
                    ("checkpoint_id", .optionalInteger), ("state", .text), ("attempts", .integer), ("next_us", .integer),
                    ("batch", .optionalText), ("last_error", .optionalText), ("created_us", .integer), ("done_us", .optionalInteger)], "id"),
    ]

    /// Rows per transaction while copying.
    private static let page = 500

    /// Copies every row into `target`, which must hold nothing yet: read from one snapshot of this
    /// store and written in one transaction, so the copy is whole or absent. Ids, sequence numbers
    /// and hashes are kept byte for byte, so every chain, checkpoint and recording reads the same.
    /// `check` sees the copied events and checkpoints as the target holds them, before the commit: if it
    /// throws, nothing is kept. Returns the rows copied per table.
    public func copyEverything(into target: SQLStore,
                               check: @escaping @Sendable ([AuditEvent], [Checkpoint]) throws -> Void) async throws(StoreError) -> [(table: String, rows: Int)] {
        let tables = Self.tables
        let page = Self.page
        let targetIsPostgres = target.isPostgres
        return try await snapshot { source in
            try await target.transaction { db in
                for table in tables {
                    let n = try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table.name)").first()?.decode(column: "n", as: Int.self) ?? 0
                    guard n == 0 else {
                        throw StoreError.constraint("the target database already holds a broker's data (\(table.name)); migrate into an empty database")
                    }
                }
                var counts: [(table: String, rows: Int)] = []
                for table in tables {
                    let columns = table.columns.map { "\"\($0.0)\"" }.joined(separator: ", ")
                    let keyed = table.columns.first?.0 == "id" && table.columns.first?.1 == .integer
                    var copied = 0
                    var last: Int64 = .min
                    while true {
                        // By id where there is one (events can be many); the small tables by position.
                        let rows = keyed
                            ? try await source.raw("""
                                SELECT \(unsafeRaw: columns) FROM \(unsafeRaw: table.name) WHERE id > \(bind: last) ORDER BY id LIMIT \(unsafeRaw: String(page))
                                """).all()
                            : try await source.raw("""
                                SELECT \(unsafeRaw: columns) FROM \(unsafeRaw: table.name) ORDER BY \(unsafeRaw: table.order)
                                LIMIT \(unsafeRaw: String(page)) OFFSET \(unsafeRaw: String(copied))
                                """).all()
                        if rows.isEmpty { break }
                        for row in rows {
                            try await db.raw(Self.insert(row, into: table.name, columns: table.columns)).run()
                        }
                        if keyed, let id = try rows.last?.decode(column: "id", as: Int64.self) { last = id }
                        copied += rows.count
                    }
                    counts.append((table.name, copied))
                }
                if targetIsPostgres {
                    // Rows came with their ids: the next ticket and checkpoint numbers follow them.
                    for table in ["tickets", "checkpoints", "outbox"] {
                        try await db.raw("""
                            SELECT setval(pg_get_serial_sequence('\(unsafeRaw: table)', 'id'), COALESCE((SELECT MAX(id) FROM \(unsafeRaw: table)), 0) + 1, false)
                            """).run()
                    }
                }
                // Read back through the target's own connection, inside the transaction: what would be committed.
                let events = try await db.raw("\(unsafeRaw: Self.eventColumns) ORDER BY chain, seq").all().map(Self.event)
                let marks = try await db.raw("\(unsafeRaw: Self.checkpointColumns) ORDER BY id").all().map(Self.checkpoint)
                try check(events, marks)
                return counts
            }
        }
    }

    private static func insert(_ row: any SQLRow, into table: String, columns: [(String, ColumnType)]) throws -> SQLQueryString {
        let names = columns.map { "\"\($0.0)\"" }.joined(separator: ", ")
        var insert = SQLQueryString("INSERT INTO \(unsafeRaw: table)(\(unsafeRaw: names)) VALUES(")
        for (i, (name, type)) in columns.enumerated() {
            if i > 0 { insert.appendLiteral(", ") }
            switch type {
            case .text: insert.appendInterpolation(bind: try row.decode(column: name, as: String.self))
            case .optionalText: insert.appendInterpolation(bind: try row.decode(column: name, as: String?.self))
            case .integer: insert.appendInterpolation(bind: try row.decode(column: name, as: Int64.self))
            case .optionalInteger: insert.appendInterpolation(bind: try row.decode(column: name, as: Int64?.self))
            case .real: insert.appendInterpolation(bind: try row.decode(column: name, as: Double.self))
            case .optionalReal: insert.appendInterpolation(bind: try row.decode(column: name, as: Double?.self))
            }
        }
        insert.appendLiteral(")")
        return insert
    }
}
