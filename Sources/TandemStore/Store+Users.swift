import Foundation

// MARK: - Users and their keys

extension Store {
    public func addUser(name: String, role: Role, publicKey: String, now: Date) throws(StoreError) {
        let key = User.normalizedKey(publicKey)
        try transaction { c throws(StoreError) in
            try c.query("INSERT INTO users(name, role, public_key, created, status) VALUES(?,?,?,?, 'active')",
                        [.text(name), .text(role.rawValue), .text(key), .double(now.timeIntervalSince1970)])
            try c.query("INSERT INTO user_keys(user, public_key, added) VALUES(?,?,?)", [.text(name), .text(key), .double(now.timeIntervalSince1970)])
        }
    }

    public func users() throws(StoreError) -> [User] {
        try run { c throws(StoreError) in
            try c.query("SELECT name, role, status FROM users ORDER BY name").map { row throws(StoreError) in try Self.user(row, c) }
        }
    }

    /// The user with their keys, whatever their status (callers check it).
    public func user(named name: String) throws(StoreError) -> User? {
        try run { c throws(StoreError) in
            guard let row = try c.query("SELECT name, role, status FROM users WHERE name = ?", [.text(name)]).first else { return nil }
            return try Self.user(row, c)
        }
    }

    /// Disables, enables or removes; a removed user's keys are deleted.
    public func setStatus(of name: String, to status: UserStatus) throws(StoreError) {
        try run { c throws(StoreError) in
            try c.query("UPDATE users SET status = ? WHERE name = ?", [.text(status.rawValue), .text(name)])
            if status == .removed { try c.query("DELETE FROM user_keys WHERE user = ?", [.text(name)]) }
        }
    }

    public func addKey(_ line: String, to name: String, now: Date) throws(StoreError) {
        try run { c throws(StoreError) in
            try c.query("INSERT INTO user_keys(user, public_key, added) VALUES(?,?,?)",
                        [.text(name), .text(User.normalizedKey(line)), .double(now.timeIntervalSince1970)])
        }
    }

    /// Whether the key was there to remove.
    public func removeKey(_ line: String, from name: String) throws(StoreError) -> Bool {
        try run { c throws(StoreError) in
            try c.query("DELETE FROM user_keys WHERE user = ? AND public_key = ?", [.text(name), .text(User.normalizedKey(line))])
            return c.changes > 0
        }
    }

    /// Everyone who may not log in now, with why (the broker ends their sessions).
    public func inactiveUsers() throws(StoreError) -> [String: UserStatus] {
        try run { c throws(StoreError) in
            var out: [String: UserStatus] = [:]
            for row in try c.query("SELECT name, status FROM users WHERE status != 'active'") {
                if let name = row[0].text, let status = UserStatus(rawValue: row[1].text ?? "") { out[name] = status }
            }
            return out
        }
    }

    private static func user(_ row: [SQLValue], _ c: SQLiteConnection) throws(StoreError) -> User {
        let name = row[0].text ?? ""
        let keys = try c.query("SELECT public_key FROM user_keys WHERE user = ? ORDER BY added", [.text(name)]).compactMap { $0[0].text }
        return User(name: name, role: Role(rawValue: row[1].text ?? "") ?? .technician, publicKeys: keys,
                    status: UserStatus(rawValue: row[2].text ?? "") ?? .disabled)
    }
}

// MARK: - Tickets and who may see them

extension Store {
    public func createTicket(title: String, requester: String, createdBy: String? = nil, now: Date) throws(StoreError) -> Ticket {
        try run { c throws(StoreError) in
            try c.query("INSERT INTO tickets(title, requester, status, created, created_by) VALUES(?,?,'open',?,?)",
                        [.text(title), .text(requester), .double(now.timeIntervalSince1970), createdBy.map(SQLValue.text) ?? .null])
            return Ticket(id: Int(c.lastInsertRowID), title: title, requester: requester, status: "open", created: now, createdBy: createdBy)
        }
    }

    public func tickets() throws(StoreError) -> [Ticket] {
        try run { c throws(StoreError) in try c.query("\(Self.ticketColumns) ORDER BY id").map(Self.ticket) }
    }

    /// The tickets `user` created or was assigned.
    public func tickets(visibleTo user: String) throws(StoreError) -> [Ticket] {
        try run { c throws(StoreError) in
            try c.query("\(Self.ticketColumns) WHERE created_by = ? OR id IN (SELECT ticket_id FROM ticket_assignees WHERE user = ?) ORDER BY id",
                        [.text(user), .text(user)]).map(Self.ticket)
        }
    }

    public func ticket(id: Int) throws(StoreError) -> Ticket? {
        try run { c throws(StoreError) in try c.query("\(Self.ticketColumns) WHERE id = ?", [.int(Int64(id))]).first.map(Self.ticket) }
    }

    public func assign(ticket: Int, to user: String, by: String, now: Date) throws(StoreError) {
        try run { c throws(StoreError) in
            try c.query("INSERT OR IGNORE INTO ticket_assignees(ticket_id, user, assigned_by, time) VALUES(?,?,?,?)",
                        [.int(Int64(ticket)), .text(user), .text(by), .double(now.timeIntervalSince1970)])
        }
    }

    public func assignees(ticket: Int) throws(StoreError) -> [String] {
        try run { c throws(StoreError) in
            try c.query("SELECT user FROM ticket_assignees WHERE ticket_id = ? ORDER BY time", [.int(Int64(ticket))]).compactMap { $0[0].text }
        }
    }

    private static let ticketColumns = "SELECT id, title, requester, status, created, created_by FROM tickets"

    private static func ticket(_ row: [SQLValue]) -> Ticket {
        Ticket(id: Int(row[0].int ?? 0), title: row[1].text ?? "", requester: row[2].text ?? "",
               status: row[3].text ?? "", created: Date(timeIntervalSince1970: row[4].double ?? 0), createdBy: row[5].text)
    }
}
