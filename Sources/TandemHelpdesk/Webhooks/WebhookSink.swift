import Foundation

/// A webhook receiver: each event and checkpoint of every ticket, one signed POST each.
public struct WebhookSink: Sendable {
    public let name: String
    let url: URL
    let signer: WebhookSigner
    let http: HelpdeskHTTP

    public init(name: String, url: String, signer: WebhookSigner, http: HelpdeskHTTP) throws(HelpdeskError) {
        self.name = name
        self.url = try HelpdeskHTTP.baseURL(url, setting: "webhook-url")
        self.signer = signer
        self.http = http
    }

    /// Posts one message; the same `id` on every try, so the receiver can drop a repeat.
    public func send(id: String, timestamp: Date, body: Data) async throws(HelpdeskError) {
        let seconds = Int64(timestamp.timeIntervalSince1970)
        _ = try await http.expectSuccess(.POST, url, headers: [
            ("Content-Type", "application/json"),
            ("webhook-id", id),
            ("webhook-timestamp", String(seconds)),
            ("webhook-signature", signer.signature(id: id, timestamp: seconds, body: body)),
        ], body: body)
    }
}
