import Foundation
import Hummingbird
import TandemAPI
import TandemAudit
import TandemCore

/// What "verify in this browser" fetches: the chain as exported (each event's canonical line with
/// its hash), the signed checkpoints, and where each recording it names can be fetched. The
/// browser checks all of it itself against the audit key its reader pinned.
struct BrowserRecord: Encodable {
    var ticket: Int
    var events: [String]
    var checkpoints: [Checkpoint]
    var recordings: [Recording]

    struct Recording: Encodable {
        var sha256: String
        /// Nil when the reader may not fetch it (another technician's session): its hash is still on the chain.
        var url: String?
    }
}

extension ConsoleRoutes {
    func record(_ context: APIRequestContext) async throws -> Response {
        let caller = try signedInCaller(context)
        guard let id = context.parameters.get("ticket").flatMap(Int.init), id > 0 else { throw TandemError.notFound("ticket") }
        let chain = try await services.audit.chain(caller, ticket: id)
        let record = BrowserRecord(ticket: id, events: chain.events.map(\.exportLine), checkpoints: chain.checkpoints,
                                   recordings: chain.recordings.map { r in
                                       BrowserRecord.Recording(sha256: r.sha256, url: r.readable ? r.session.flatMap { session in
                                           (try? SessionID.parse(session)).map { "/console/sessions/\($0.rawValue)/recordings/\(r.sha256).cast" }
                                       } : nil)
                                   })
        guard let data = WireJSON.encode(record) else { throw TandemError.io("the record could not be encoded") }
        return ConsoleResponse.bytes(data, contentType: "application/json")
    }
}
