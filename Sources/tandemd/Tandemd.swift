import ArgumentParser
import Foundation
import Logging
import TandemBroker
import TandemHelpdesk
import TandemCore
import TandemStore

@main
struct Tandemd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandemd",
        abstract: "The Tandem broker: pairs technicians with end-users and records every session.",
        discussion: """
            First time:
              tandemd init --data /var/lib/tandem
              tandemd user add alice --role technician --key alice.pub --data /var/lib/tandem
              tandemd serve --data /var/lib/tandem --cert broker.crt --key broker.key
            """,
        version: TandemVersion.current,
        subcommands: [Init.self, Serve.self, UserCommand.self, Info.self, Check.self, Migrate.self])
}

struct DataOption: ParsableArguments {
    @Option(name: .customLong("data"), help: "The broker's data directory (database, keys, recordings). (default: ./tandem-data)")
    var dataFlag: String?
    @Option(name: .long, help: ArgumentHelp(
        "PostgreSQL instead of the SQLite file in --data: postgres://USER@HOST:PORT/DATABASE.",
        discussion: "The password comes from TANDEM_DATABASE_PASSWORD or --database-password-file, never from a flag."))
    var database: String?
    @Option(name: .long, help: "A file holding the database password.") var databasePasswordFile: String?
    @Option(name: .long, help: "Read data, database and database-password-file from this file too (e.g. /etc/tandem/tandemd.conf).")
    var config: String?

    /// The data directory and the database, read like `serve`'s settings: the flag, else
    /// TANDEM_DATA / TANDEM_DATABASE, else the file given with --config. Unlike `serve`, no file
    /// is read unless named: a check of a restored copy must not reach the live database.
    func resolved() throws -> (data: String, database: DatabaseLocation) {
        if let database, DatabaseLocation.hasPassword(database) { throw DatabaseLocationError.passwordOnCommandLine }
        let sources: SettingsSources
        do {
            sources = try SettingsSources(flags: ["data": dataFlag, "database": database, "database-password-file": databasePasswordFile],
                                          configFile: config, environment: ProcessInfo.processInfo.environment, defaultFile: nil)
        } catch let error as TandemError {
            throw ValidationError(error.description)
        }
        let data = sources.string("data", default: "./tandem-data")
        return (data, try DatabaseLocation.resolve(dataDirectory: data, database: sources.string("database"),
                                                   passwordFile: sources.string("database-password-file"),
                                                   password: sources.secret("database-password")))
    }
}

extension Tandemd {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the database and the broker's SSH and code keys.")
        @OptionGroup var options: DataOption

        func run() async throws {
            let (data, database) = try options.resolved()
            let identity = try await BrokerAdmin.initialise(dataDirectory: data, database: database)
            print("Initialised \(data)")
            print("Broker SSH key fingerprint: \(identity.fingerprint)")
            print("Give technicians this fingerprint: their 'tandem' checks it on every connection.")
            print("Audit public key (give to auditors): \(identity.auditPublicKeyText)")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the broker's public key and fingerprint.")
        @OptionGroup var options: DataOption

        func run() throws {
            let identity = try BrokerIdentity.load(from: try options.resolved().data)
            print("SSH fingerprint:  \(identity.fingerprint)")
            print("SSH public key:   \(identity.publicKeyLine)")
            print("audit public key: \(identity.auditPublicKeyText)")
            let data = try options.resolved().data
            if let key = try BrokerIdentity.existingWebhookKey(in: data) {
                print("webhook public key: \(WebhookSigner.publicKeyText(key.publicKey))")
            } else {
                print("webhook public key: none yet (the first 'tandemd serve' with webhook-url makes it)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the database, every audit chain and every recording.",
            discussion: """
                Runs SQLite's full integrity check, then verifies every chain, signed checkpoint and
                recording against the broker's audit key. 'tandemd serve' runs the quick check at every
                start and refuses to start on a damaged database. Exit status 0 when all is well, 1 otherwise.
                """)
        @OptionGroup var options: DataOption

        func run() async throws {
            let (data, database) = try options.resolved()
            let result = await BrokerCheck.run(dataDirectory: data, database: database)
            for line in result.lines { print(line) }
            throw ExitCode(result.ok ? 0 : 1)
        }
    }

    struct UserCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "user", abstract: "Manage technicians, auditors and admins, and their keys.",
            discussion: """
                A running broker ends the live sessions of a user who is disabled or removed within a second.
                Every change is an event on the broker log.
                """,
            subcommands: [Add.self, List.self, Disable.self, Enable.self, Remove.self, Key.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Register a person by their SSH public key.",
                discussion: "Example: tandemd user add alice --role technician --key ~/alice_ed25519.pub")
            @OptionGroup var options: DataOption
            @Argument(help: "Login name, e.g. alice.") var name: String
            @Option(help: "technician, auditor or admin.") var role: String = "technician"
            @Option(help: "Their OpenSSH public key file (Ed25519 or ECDSA).") var key: String

            func validate() throws {
                guard Role(rawValue: role) != nil else { throw ValidationError("--role must be technician, auditor or admin") }
            }

            func run() async throws {
                let (data, database) = try options.resolved()
                try await BrokerAdmin.addUser(dataDirectory: data, database: database, name: name, role: Role(rawValue: role)!, keyFile: key)
                print("Added \(role) \(name).")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List registered people, their status and key fingerprints.")
            @OptionGroup var options: DataOption
            func run() async throws {
                let (data, database) = try options.resolved()
                for u in try await BrokerAdmin.withStore(data, database: database, { try await $0.users() }) {
                    let keys = u.publicKeys.map { BrokerIdentity.fingerprint(ofOpenSSHLine: $0) }.joined(separator: ",")
                    print("\(u.name)\t\(u.role.rawValue)\t\(u.status.rawValue)\t\(keys.isEmpty ? "-" : keys)")
                }
            }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Stop a person logging in and end their live sessions (reversible).")
            @OptionGroup var options: DataOption
            @Argument(help: "Login name.") var name: String
            func run() async throws {
                let (data, database) = try options.resolved()
                try await BrokerAdmin.setEnabled(dataDirectory: data, database: database, name: name, enabled: false)
                print("Disabled \(name); their live sessions end.")
            }
        }

        struct Enable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Let a disabled person log in again.")
            @OptionGroup var options: DataOption
            @Argument(help: "Login name.") var name: String
            func run() async throws {
                let (data, database) = try options.resolved()
                try await BrokerAdmin.setEnabled(dataDirectory: data, database: database, name: name, enabled: true)
                print("Enabled \(name).")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a person for good: their keys are deleted and their live sessions end.",
                discussion: "The name stays reserved, so a new user of that name cannot read the removed one's tickets.")
            @OptionGroup var options: DataOption
            @Argument(help: "Login name.") var name: String
            func run() async throws {
                let (data, database) = try options.resolved()
                try await BrokerAdmin.removeUser(dataDirectory: data, database: database, name: name)
                print("Removed \(name).")
            }
        }

        struct Key: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add or remove one of a person's keys (a new laptop, a lost one).",
                                                            subcommands: [KeyAdd.self, KeyRemove.self])

            struct KeyAdd: AsyncParsableCommand {
                static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a public key.",
                                                                discussion: "Example: tandemd user key add alice ~/alice_laptop2.pub")
                @OptionGroup var options: DataOption
                @Argument(help: "Login name.") var name: String
                @Argument(help: "OpenSSH public key file.") var keyFile: String
                func run() async throws {
                    let (data, database) = try options.resolved()
                    try await BrokerAdmin.addKey(dataDirectory: data, database: database, name: name, keyFile: keyFile)
                    print("Added a key for \(name).")
                }
            }

            struct KeyRemove: AsyncParsableCommand {
                static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a public key; it no longer logs in.")
                @OptionGroup var options: DataOption
                @Argument(help: "Login name.") var name: String
                @Argument(help: "The OpenSSH public key file of the key to remove.") var keyFile: String
                func run() async throws {
                    let (data, database) = try options.resolved()
                    try await BrokerAdmin.removeKey(dataDirectory: data, database: database, name: name, keyFile: keyFile)
                    print("Removed the key from \(name).")
                }
            }
        }
    }
}
