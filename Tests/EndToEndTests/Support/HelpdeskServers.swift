import Foundation

/// The run's Request Tracker and Redmine (scripts/test.sh starts one of each), reached with curl
/// as a person's script would: tickets made, closed and read back over their own REST APIs.
enum HelpdeskServers {
    static func setting(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Failure("\(name) is not set: scripts/test.sh starts Request Tracker and Redmine for the helpdesk tests")
        }
        return value
    }

    static func secret(fileSetting name: String) throws -> String {
        try String(contentsOfFile: try setting(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// curl with a JSON body; the answer's body and status.
    static func curl(_ method: String, _ url: String, header: String, json: String? = nil, in dir: URL) throws -> (status: Int, body: String) {
        var args = ["-s", "--max-time", "20", "-X", method, "-H", header, "-H", "Accept: application/json", "-w", "\n%{http_code}", url]
        if let json { args += ["-H", "Content-Type: application/json", "--data-binary", json] }
        let r = try runTool("/usr/bin/curl", args, in: dir, timeout: 30)
        guard r.status == 0 else { throw Failure("curl \(method) \(url) failed: \(r.stderr)") }
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    // MARK: Request Tracker

    static var rtURL: String { get throws { try setting("TANDEM_TEST_RT") } }
    static var rtHeader: String { get throws { "Authorization: token " + (try secret(fileSetting: "TANDEM_TEST_RT_TOKEN_FILE")) } }

    static func newRTTicket(subject: String, in dir: URL) throws -> Int {
        let body = try JSONSerialization.data(withJSONObject: ["Queue": "General", "Subject": subject, "Requestor": "jane@example.com",
                                                               "Content": "My printer is jammed"])
        let r = try curl("POST", try rtURL + "/REST/2.0/ticket", header: try rtHeader, json: String(decoding: body, as: UTF8.self), in: dir)
        guard r.status == 201, let obj = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
              let id = (obj["id"] as? String).flatMap({ Int($0) }) ?? obj["id"] as? Int else {
            throw Failure("RT did not create a ticket: \(r.status) \(r.body)")
        }
        return id
    }

    static func setRTStatus(_ ticket: Int, _ status: String, in dir: URL) throws {
        let r = try curl("PUT", try rtURL + "/REST/2.0/ticket/\(ticket)", header: try rtHeader, json: "{\"Status\":\"\(status)\"}", in: dir)
        guard r.status == 200 else { throw Failure("RT did not set the status: \(r.status) \(r.body)") }
    }

    /// The text of every comment Tandem posted on the ticket (those carrying its delivery key), oldest first.
    static func rtNotes(_ ticket: Int, in dir: URL) throws -> [String] {
        let r = try curl("GET", try rtURL + "/REST/2.0/ticket/\(ticket)/attachments?fields=Content&per_page=100", header: try rtHeader, in: dir)
        guard r.status == 200, let obj = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
              let items = obj["items"] as? [[String: Any]] else { throw Failure("RT attachments: \(r.status) \(r.body)") }
        return items.compactMap { $0["Content"] as? String }.filter { $0.contains("tandem-delivery: ") }
    }

    // MARK: Redmine

    static var redmineURL: String { get throws { try setting("TANDEM_TEST_REDMINE") } }
    static var redmineHeader: String { get throws { "X-Redmine-API-Key: " + (try secret(fileSetting: "TANDEM_TEST_REDMINE_KEY_FILE")) } }

    static func newRedmineIssue(subject: String, in dir: URL) throws -> Int {
        let body = try JSONSerialization.data(withJSONObject: ["issue": ["project_id": "tandem-test", "subject": subject, "tracker_id": 1]])
        let r = try curl("POST", try redmineURL + "/issues.json", header: try redmineHeader, json: String(decoding: body, as: UTF8.self), in: dir)
        guard r.status == 201, let obj = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
              let issue = obj["issue"] as? [String: Any], let id = issue["id"] as? Int else {
            throw Failure("Redmine did not create an issue: \(r.status) \(r.body)")
        }
        return id
    }

    /// The private notes Tandem posted on the issue, oldest first.
    static func redmineNotes(_ issue: Int, in dir: URL) throws -> [(notes: String, isPrivate: Bool)] {
        let r = try curl("GET", try redmineURL + "/issues/\(issue).json?include=journals", header: try redmineHeader, in: dir)
        guard r.status == 200, let obj = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
              let i = obj["issue"] as? [String: Any], let journals = i["journals"] as? [[String: Any]] else {
            throw Failure("Redmine issue: \(r.status) \(r.body)")
        }
        return journals.compactMap { j in
            guard let notes = j["notes"] as? String, notes.contains("tandem-delivery: ") else { return nil }
            return (notes, j["private_notes"] as? Bool ?? false)
        }
    }
}
