import ArgumentParser
import Foundation
import TandemCore

/// How to reach and trust the broker; flags win over the config file.
public struct CLIOptions: ParsableArguments {
    @Option(help: "Broker address host:port.") var broker: String?
    @Option(help: "CA certificate of the broker's TLS certificate.") var ca: String?
    @Option(help: "Your SSH private key (default: ~/.ssh/id_ed25519, else ssh-agent).") var identity: String?
    @Option(help: "Your user name at the broker (default: $USER).") var user: String?
    @Option(help: "The broker's SSH key fingerprint (SHA256:…) from 'tandemd info'.") var fingerprint: String?
    @Option(help: "Config file (default: $TANDEM_CONFIG, else ~/.config/tandem/tandem.conf).") var config: String?

    public init() {}

    struct Resolved {
        var broker: BrokerAddress
        var ca: String?
        var identity: String?
        var user: String
        var fingerprint: String
    }

    /// Where the broker is and which CA vouches for it: all `tandem proxy` needs (ssh checks the SSH key).
    func resolveTransport() throws -> (broker: BrokerAddress, ca: String?) {
        let file = try configFile()
        guard let brokerText = broker ?? file["broker"] else {
            throw ValidationError("no broker: pass --broker host:port or set 'broker = host:port' in ~/.config/tandem/tandem.conf")
        }
        return (try BrokerAddress(parsing: brokerText), (ca ?? file["ca"]).map(Self.expandingTilde))
    }

    /// Paths in the config file may start with ~ as in a shell (`ca = ~/.config/tandem/ca.crt`).
    private static func expandingTilde(_ path: String) -> String { (path as NSString).expandingTildeInPath }

    private func configFile() throws -> KeyValueConfig {
        try KeyValueConfig.load(firstOf: [configPath])
    }

    /// The config file in use: `--config`, else `$TANDEM_CONFIG`, else ~/.config/tandem/tandem.conf (tilde expanded).
    var configPath: String {
        let path = (config ?? ProcessInfo.processInfo.environment["TANDEM_CONFIG"] ?? "~/.config/tandem/tandem.conf") as NSString
        let expanded = path.expandingTildeInPath
        return expanded.hasPrefix("/") ? expanded : FileManager.default.currentDirectoryPath + "/" + expanded
    }

    func resolve() throws -> Resolved {
        let file = try configFile()
        guard let brokerText = broker ?? file["broker"] else {
            throw ValidationError("no broker: pass --broker host:port or set 'broker = host:port' in ~/.config/tandem/tandem.conf")
        }
        guard let fingerprint = fingerprint ?? file["fingerprint"] else {
            throw ValidationError("the broker's SSH fingerprint is not pinned: ask your admin for the output of 'tandemd info' and pass --fingerprint SHA256:… or set 'fingerprint' in the config file")
        }
        var identity = identity ?? file["identity"]
        if identity == nil {
            let def = ("~/.ssh/id_ed25519" as NSString).expandingTildeInPath
            if FileManager.default.fileExists(atPath: def) { identity = def }
        }
        return Resolved(broker: try BrokerAddress(parsing: brokerText), ca: (ca ?? file["ca"]).map(Self.expandingTilde),
                        identity: identity.map(Self.expandingTilde),
                        user: user ?? file["user"] ?? ProcessInfo.processInfo.environment["USER"] ?? "technician",
                        fingerprint: fingerprint)
    }
}
