import ArgumentParser
@preconcurrency import Crypto
import Foundation
import TandemAudit
import TandemBroker
import TandemStore

extension Tandemd {
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a stopped broker's SQLite database into PostgreSQL, every chain intact.",
            discussion: """
                Example: tandemd migrate --data /var/lib/tandem --to postgres://tandem@db.example.com:5432/tandem
                Stop the broker first. The target database must be empty (tandemd creates its tables).
                Every event, checkpoint and session keeps its id and hash; the copy is then verified
                against the broker's audit key, as 'tandemd check' does. Start the broker again with
                database = postgres://… in tandemd.conf. The password comes from TANDEM_DATABASE_PASSWORD
                or --database-password-file.
                """)
        @Option(help: "The broker's data directory (keys, recordings, and the SQLite file to copy).")
        var data: String = ProcessInfo.processInfo.environment["TANDEM_DATA"] ?? "./tandem-data"
        @Option(help: "The PostgreSQL database to copy into: postgres://USER@HOST:PORT/DATABASE.") var to: String
        @Option(help: "A file holding the target database's password.") var databasePasswordFile: String?

        func run() async throws {
            if DatabaseLocation.hasPassword(to) { throw DatabaseLocationError.passwordOnCommandLine }
            let target = try DatabaseLocation.resolve(dataDirectory: data, database: to, passwordFile: databasePasswordFile)
            guard !target.isEmbedded else { throw ValidationError("--to takes a postgres:// URL") }
            let identity = try BrokerIdentity.load(from: data)
            let source = try await BrokerAdmin.openStore(data)
            let destination: SQLStore
            do {
                // Refused while a broker runs on the source; and nothing else may start on either meanwhile.
                try await source.claimSoleBroker()
                destination = try await target.open()
                do {
                    try await destination.claimSoleBroker()
                } catch {
                    await destination.close()
                    throw error
                }
            } catch {
                await source.close()
                throw error
            }
            do {
                let recordings = data + "/recordings/"
                let key = identity.auditKey.publicKey
                let shown = "\(target)"
                // Verified before the copy commits: a copy that does not verify is not kept.
                let copied = try await source.copyEverything(into: destination) { events, checkpoints in
                    let report = ChainVerifier(publicKey: key, allowUnsignedChains: true) {
                        FileManager.default.contents(atPath: recordings + $0 + ".cast")
                    }.verify(events: events, checkpoints: checkpoints)
                    print("audit log in \(shown): \(report.summary)")
                    guard report.ok else { throw StoreError.constraint("the copy does not verify; nothing was kept in \(shown)") }
                }
                for (table, rows) in copied { print("copied \(rows) \(table)") }
                await source.close()
                await destination.close()
                print("Done. Set 'database = \(target)' in tandemd.conf (the password in TANDEM_DATABASE_PASSWORD or database-password-file) and start the broker.")
            } catch {
                await source.close()
                await destination.close()
                throw error
            }
        }
    }
}
