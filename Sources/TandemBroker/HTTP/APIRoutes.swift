import Foundation
import Hummingbird
import Logging
import TandemAPI
import TandemCore
import TandemText

/// The HTTP API's routes (docs/openapi.yaml): each one names an operation, and its path
/// parameters and JSON body become the same `ControlRequest` the CLI sends.
struct APIRoutes {
    let services: BrokerServices
    let metrics: (@Sendable () -> [UInt8])?
    let logger: Logger

    /// Method, path (Hummingbird's `:name` for parameters), operation, the status of a success, and
    /// a boolean field the route sets (one operation, two routes: a GET has no body to say it).
    static let table: [(method: HTTPRequest.Method, path: String, operation: String, created: Bool, flag: String?)] = [
        (.get, "/v1/tickets/:ticket/deliveries", "ticket.sync-status", false, nil),
        (.post, "/v1/tickets/:ticket/resync", "ticket.resync", false, nil),
        (.get, "/v1/tickets/:ticket/verification/helpdesk", "audit.verify", false, "against_helpdesk"),
        (.get, "/v1/me", "whoami", false, nil),
        (.get, "/v1/users", "user.list", false, nil),
        (.get, "/v1/tickets", "ticket.list", false, nil),
        (.post, "/v1/tickets", "ticket.new", true, nil),
        (.get, "/v1/tickets/:ticket", "ticket.show", false, nil),
        (.post, "/v1/tickets/:ticket/assignees", "ticket.assign", false, nil),
        (.get, "/v1/tickets/:ticket/events", "audit.log", false, nil),
        (.get, "/v1/tickets/:ticket/verification", "audit.verify", false, nil),
        (.get, "/v1/tickets/:ticket/export", "audit.export", false, nil),
        (.post, "/v1/sessions", "session.new", true, nil),
        (.get, "/v1/sessions/:session", "session.show", false, nil),
        (.post, "/v1/sessions/:session/end", "session.end", false, nil),
        (.get, "/v1/sessions/:session/events", "audit.log", false, nil),
        (.get, "/v1/sessions/:session/recordings", "audit.recordings", false, nil),
        (.get, "/v1/sessions/:session/recordings/:sha256", "audit.recording", false, nil),
        (.get, "/v1/tokens", "token.list", false, nil),
        (.delete, "/v1/tokens/:id", "token.revoke", false, nil),
    ]

    func add(to router: RouterGroup<APIRequestContext>) {
        for route in Self.table {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                await self.serve(route.operation, created: route.created, flag: route.flag, request: request, context: context)
            }
        }
        router.get("/metrics") { _, context in
            await self.metrics(context)
        }
    }

    private func serve(_ operation: String, created: Bool, flag: String?, request: Request, context: APIRequestContext) async -> Response {
        guard let caller = context.caller else { return APIResponse.failure(ServiceFailure(TandemError.permissionDenied("no caller"))) }
        do {
            var fields: [String: JSONValue] = [:]
            if request.method == .post {
                let body = try await request.body.collect(upTo: context.maxUploadSize)
                if body.readableBytes > 0 {
                    guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: body)) else {
                        throw TandemError.invalidArgument("the request body must be a JSON object")
                    }
                    fields = object
                }
            }
            // The path wins over the body: a body cannot name another ticket than its URL.
            fields["op"] = .string(operation)
            if let flag { fields[flag] = .bool(true) }
            for (name, value) in context.parameters {
                let text = String(value)
                fields[String(name)] = name == "ticket" ? (Int(text).map(JSONValue.int) ?? .string(text)) : .string(text)
            }
            let encoded = try JSONEncoder().encode(fields)
            let answer = try await services.answer(try ControlRequest.decode(Array(encoded)), for: caller)
            return Self.response(answer, created: created)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            return APIResponse.failure(ServiceFailure(TandemError.frameTooLarge(context.maxUploadSize + 1, limit: context.maxUploadSize)))
        } catch {
            let failure = ServiceFailure(error)
            failure.log("API request \(request.method) \(TerminalText.field(RefusalLogBudget.redacted(request.uri.path), limit: 200))", to: logger)
            if failure.httpStatus == 401 || failure.httpStatus == 403 {
                logger.notice("refused API request \(operation) for \(TerminalText.field(caller.user.name, limit: 64)) (\(caller.via)): \(TerminalText.field(failure.view.error.message, limit: 300))")
            }
            return APIResponse.failure(failure)
        }
    }

    static func response(_ answer: Answer, created: Bool) -> Response {
        let status: HTTPResponse.Status = created ? .created : .ok
        switch answer {
        case .one(let value): return APIResponse.json(value, status: status)
        case .many(let values): return APIResponse.json(values.map(AnyEncodable.init), status: status)
        case .bytes(let data, let type): return APIResponse.bytes(data, contentType: type, status: status)
        case .offer(let offer): return APIResponse.json(offer, status: status)
        case .verification(let report): return APIResponse.json(report, status: status)
        }
    }

    /// `/metrics` on the TLS port: for an admin's token only (a `metrics-listen` address serves it without one).
    private func metrics(_ context: APIRequestContext) async -> Response {
        guard let caller = context.caller else { return APIResponse.failure(ServiceFailure(TandemError.permissionDenied("no caller"))) }
        do {
            try await services.authorizeMetrics(caller)
            guard let metrics else { throw TandemError.notFound("metrics (this broker was started without them)") }
            return APIResponse.bytes(Data(metrics()), contentType: "text/plain; version=0.0.4; charset=utf-8")
        } catch {
            let failure = ServiceFailure(error)
            if failure.httpStatus == 403 {
                logger.notice("refused /metrics for \(TerminalText.field(caller.user.name, limit: 64)) (\(caller.via)): not an admin")
            }
            return APIResponse.failure(failure)
        }
    }
}

/// A list of different answers, encoded as one JSON array.
struct AnyEncodable: Encodable {
    let value: any Encodable
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
