import Foundation
import TandemAudit
import TandemCore

// MARK: - Sessions

extension Store {
    public func createSession(_ s: SessionRecord) throws(StoreError) {
        try run { c throws(StoreError) in
            try c.query("""
                INSERT INTO sessions(id, ticket_id, technician, scopes, code_hash, state, created, expires, time_limit)
                VALUES(?,?,?,?,?,?,?,?,?)
                """, [.text(s.id.rawValue), .int(Int64(s.ticketID)), .text(s.technician),
                      .text(s.scopes.map(\.rawValue).joined(separator: ",")), .text(s.codeHash), .text(s.state.rawValue),
                      .double(s.created.timeIntervalSince1970), .double(s.expires.timeIntervalSince1970), .int(Int64(s.timeLimitSeconds))])
        }
    }

    public func session(id: SessionID) throws(StoreError) -> SessionRecord? {
        try run { c throws(StoreError) in
            try c.query("\(Self.sessionColumns) WHERE id = ?", [.text(id.rawValue)]).first.map(Self.session)
        }
    }

    public func session(codeHash: String) throws(StoreError) -> SessionRecord? {
        try run { c throws(StoreError) in
            try c.query("\(Self.sessionColumns) WHERE code_hash = ?", [.text(codeHash)]).first.map(Self.session)
        }
    }

    public func updateSession(_ id: SessionID, state: SessionLifecycle.State, endReason: String? = nil) throws(StoreError) {
        try run { c throws(StoreError) in
            try c.query("UPDATE sessions SET state = ?, end_reason = COALESCE(?, end_reason) WHERE id = ?",
                        [.text(state.rawValue), endReason.map(SQLValue.text) ?? .null, .text(id.rawValue)])
        }
    }

    /// Sessions a previous broker process left open; they cannot resume, so they end.
    public func openSessions() throws(StoreError) -> [SessionRecord] {
        try run { c throws(StoreError) in
            try c.query("\(Self.sessionColumns) WHERE state IN ('pending','offered','approved','active')").map(Self.session)
        }
    }

    private static let sessionColumns =
        "SELECT id, ticket_id, technician, scopes, code_hash, state, created, expires, time_limit, end_reason FROM sessions"

    private static func session(_ row: [SQLValue]) -> SessionRecord {
        SessionRecord(
            id: SessionID(rawValue: row[0].text ?? ""), ticketID: Int(row[1].int ?? 0), technician: row[2].text ?? "",
            scopes: (row[3].text ?? "").split(separator: ",").compactMap { Scope(rawValue: String($0)) },
            codeHash: row[4].text ?? "", state: SessionLifecycle.State(rawValue: row[5].text ?? "") ?? .expired,
            created: Date(timeIntervalSince1970: row[6].double ?? 0), expires: Date(timeIntervalSince1970: row[7].double ?? 0),
            timeLimitSeconds: Int(row[8].int ?? 0), endReason: row[9].text)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
