import Foundation
import SQLKit

// MARK: - Copying a whole broker from one engine to another (`tandemd migrate`)

extension SQLStore {
    private enum ColumnType { case text, optionalText, integer, real }

    /// Every table and its columns, parents before children, as both engines hold them.
    private static let tables: [(name: String, columns: [(String, ColumnType)], order: String)] = [
        ("users", [("name", .text), ("role", .text), ("public_key", .text), ("created", .real), ("status", .text)], "name"),
        ("user_keys", [("user", .text), ("public_key", .text), ("added", .real)], "\"user\", public_key"),
        ("tickets", [("id", .integer), ("title", .text), ("requester", .text), ("status", .text), ("created", .real),
                     ("created_by", .optionalText)], "id"),
        ("ticket_assignees", [("ticket_id", .integer), ("user", .text), ("assigned_by", .text), ("time", .real)], "ticket_id, \"user\""),
        ("sessions", [("id", .text), ("ticket_id", .integer), ("technician", .text), ("scopes", .text), ("code_hash", .text),
                      ("state", .text), ("created", .real), ("expires", .real), ("time_limit", .integer), ("end_reason", .optionalText)], "id"),
        ("events", [("id", .integer), ("chain", .integer), ("seq", .integer), ("time_us", .integer), ("session_id", .optionalText),
                    ("actor", .text), ("kind", .text), ("data", .text), ("prev", .text), ("hash", .text)], "id"),
        ("checkpoints", [("id", .integer), ("chain", .integer), ("seq", .integer), ("event_id", .integer), ("head", .text),
                         ("time_us", .integer), ("signature", .text)], "id"),
    ]

    /// Rows per transaction while copying.
    private static let page = 500

    /// Copies every row into `target`, which must hold nothing yet. Ids, sequence numbers and
    /// hashes are kept byte for byte, so every chain, checkpoint and recording reads the same.
    /// Returns the rows copied per table.
    public func copyEverything(into target: SQLStore) async throws(StoreError) -> [(table: String, rows: Int)] {
        let existing = try await target.read { db in
            var rows = 0
            for table in ["users", "tickets", "events"] {
                rows += try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self) ?? 0
            }
            return rows
        }
        guard existing == 0 else {
            throw .constraint("the target database already holds a broker's data; migrate into an empty database")
        }
        var counts: [(table: String, rows: Int)] = []
        for table in Self.tables {
            var offset = 0
            var copied = 0
            while true {
                let columns = table.columns.map { "\"\($0.0)\"" }.joined(separator: ", ")
                let rows = try await read { db in
                    try await db.raw("""
                        SELECT \(unsafeRaw: columns) FROM \(unsafeRaw: table.name) ORDER BY \(unsafeRaw: table.order)
                        LIMIT \(unsafeRaw: String(Self.page)) OFFSET \(unsafeRaw: String(offset))
                        """).all()
                }
                if rows.isEmpty { break }
                try await target.transaction { db in
                    for row in rows {
                        var insert = SQLQueryString("INSERT INTO \(unsafeRaw: table.name)(\(unsafeRaw: columns)) VALUES(")
                        for (i, (name, type)) in table.columns.enumerated() {
                            if i > 0 { insert.appendLiteral(", ") }
                            switch type {
                            case .text: insert.appendInterpolation(bind: try row.decode(column: name, as: String.self))
                            case .optionalText: insert.appendInterpolation(bind: try row.decode(column: name, as: String?.self))
                            case .integer: insert.appendInterpolation(bind: try row.decode(column: name, as: Int64.self))
                            case .real: insert.appendInterpolation(bind: try row.decode(column: name, as: Double.self))
                            }
                        }
                        insert.appendLiteral(")")
                        try await db.raw(insert).run()
                    }
                }
                copied += rows.count
                offset += rows.count
            }
            counts.append((table.name, copied))
        }
        if target.isPostgres {
            // Rows came with their ids: the next ticket and checkpoint numbers follow them.
            try await target.read { db in
                for table in ["tickets", "checkpoints"] {
                    try await db.raw("""
                        SELECT setval(pg_get_serial_sequence('\(unsafeRaw: table)', 'id'), COALESCE((SELECT MAX(id) FROM \(unsafeRaw: table)), 0) + 1, false)
                        """).run()
                }
            }
        }
        return counts
    }
}
