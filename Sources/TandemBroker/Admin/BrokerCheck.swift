import Foundation
import TandemAudit
import TandemStore

/// `tandemd check`: the whole data directory, as an operator checks it after trouble.
public enum BrokerCheck {
    public struct Result: Sendable {
        public var lines: [String] = []
        public var ok = true
    }

    /// SQLite's full integrity check, then every chain, checkpoint and recording against the audit key.
    public static func run(dataDirectory dir: String, database: DatabaseLocation? = nil) async -> Result {
        var result = Result()
        let store: SQLStore
        do {
            store = try await BrokerAdmin.openStore(dir, database: database)
        } catch {
            result.ok = false
            result.lines.append("database: \(error)")
            return result
        }
        do {
            try await store.checkIntegrity(full: true)
            result.lines.append(store.isPostgres ? "database: ok (\(store.location) answers)" : "database: ok (integrity_check)")
        } catch {
            result.ok = false
            result.lines.append("database: \(error)")
            await store.close()
            return result
        }
        do {
            let identity = try BrokerIdentity.load(from: dir)
            let recordings = dir + "/recordings/"
            let report = try await AuditLog(store: store).verify(ticket: nil, publicKey: identity.auditKey.publicKey, allowUnsignedChains: true) {
                FileManager.default.contents(atPath: recordings + $0 + ".cast")
            }
            result.ok = result.ok && report.ok
            result.lines.append("audit log: " + report.summary)
        } catch {
            result.ok = false
            result.lines.append("audit log: cannot be read: \(error)")
        }
        await store.close()
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/recordings")) ?? []).filter { $0.hasSuffix(".part") }
        if !leftovers.isEmpty {
            result.lines.append("recordings: \(leftovers.count) unfinished (.part) file(s) from a broker that stopped without finishing them")
        }
        return result
    }
}
