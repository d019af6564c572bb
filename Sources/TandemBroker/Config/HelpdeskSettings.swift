import Foundation
import TandemAPI
import TandemCore
import TandemHelpdesk

/// The helpdesk settings of `tandemd serve`: which helpdesks, where, and with which credentials.
///
/// Credentials come only from the environment (`TANDEM_RT_TOKEN`, `TANDEM_REDMINE_KEY`,
/// `TANDEM_WEBHOOK_SECRET`) or from a file named in the settings (`rt-token-file`, …); never
/// from a flag, which any user on the machine could read in the process list.
public enum HelpdeskSettings {
    public static func helpdesks(from sources: SettingsSources, dataDirectory: String, http: HelpdeskHTTP) throws -> Helpdesks {
        var helpdesks = Helpdesks()
        do {
            if let url = sources.string("rt-url") {
                let token = try credential(sources, "rt-token", file: "rt-token-file", what: "the Request Tracker token")
                helpdesks.noteSinks[.rt] = try RequestTracker(url: url, token: token, http: http)
            }
            if let url = sources.string("redmine-url") {
                let key = try credential(sources, "redmine-key", file: "redmine-key-file", what: "the Redmine API key")
                helpdesks.noteSinks[.redmine] = try Redmine(url: url, key: key, http: http)
            }
            if let url = sources.string("webhook-url") {
                var secrets: [String] = []
                if sources.secret("webhook-secret") != nil || sources.string("webhook-secret-file") != nil {
                    // Several, one per line (or space): all sign during a rotation.
                    secrets = try credential(sources, "webhook-secret", file: "webhook-secret-file", what: "the webhook secret")
                        .split(whereSeparator: { $0.isWhitespace }).map(String.init)
                }
                var keys = [try BrokerIdentity.webhookKey(in: dataDirectory)]
                for path in (sources.string("webhook-previous-key-files") ?? "").split(separator: " ").map(String.init) {
                    guard let text = try? String(contentsOfFile: path, encoding: .utf8), let key = WebhookSigner.parseKey(text) else {
                        throw TandemError.invalidArgument("webhook-previous-key-files: \(path) is not a readable whsk_ key file")
                    }
                    keys.append(key)
                }
                helpdesks.webhooks.append(try WebhookSink(name: "webhook", url: url, signer: WebhookSigner(secrets: secrets, keys: keys), http: http))
            }
        } catch let error as HelpdeskError {
            throw TandemError.invalidArgument(error.description)
        }
        if let system = sources.string("helpdesk-default") {
            guard let s = HelpdeskSystem(rawValue: system) else {
                throw TandemError.invalidArgument("helpdesk-default takes rt or redmine (\(SettingsSources.sources("helpdesk-default")))")
            }
            guard helpdesks.noteSinks[s] != nil else {
                throw TandemError.invalidArgument("helpdesk-default is \(system), but \(system)-url is not set")
            }
            helpdesks.defaultSystem = s
        }
        helpdesks.batchInterval = try sources.number("helpdesk-batch-seconds", default: 5, in: 0...3600)
        helpdesks.retryBase = try sources.number("helpdesk-retry-seconds", default: 1, in: 0.01...3600)
        helpdesks.retryMax = try sources.number("helpdesk-retry-max-seconds", default: 300, in: 0.01...86_400)
        return helpdesks
    }

    /// A credential from the environment, else from the file a setting names.
    static func credential(_ sources: SettingsSources, _ key: String, file: String, what: String) throws(TandemError) -> String {
        if let value = sources.secret(key), !value.isEmpty { return value }
        guard let path = sources.string(file) else {
            throw .invalidArgument("\(what) is missing: set TANDEM_\(SettingsSources.variableName(key)) or \(file)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .invalidArgument("\(file): \(path) cannot be read")
        }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw .invalidArgument("\(file): \(path) is empty") }
        return value
    }
}
