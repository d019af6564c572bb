import Foundation
import TandemAPI
import TandemCore
import TandemStore
import TandemText

/// The SSH control channel's adapter: one typed request in, JSON lines (or raw bytes for
/// bundles and recordings) out on stdout, an `ErrorView` on stderr and an exit status.
struct ControlAdapter: Sendable {
    let services: BrokerServices
    let user: User
    /// Writes one line to the channel: stdout when `stderr` is false.
    let emit: @Sendable (String, _ stderr: Bool) -> Void
    /// Writes raw bytes to stdout (exports, recordings).
    let emitData: @Sendable (Data) -> Void

    /// Exit statuses the CLI maps to messages.
    enum Status {
        static let ok: Int32 = 0
        static let failed: Int32 = 1
        static let refused: Int32 = 4
        static let expired: Int32 = 5
        static let ended: Int32 = 6
    }

    func run(_ request: ControlRequest) async -> Int32 {
        do {
            let caller = try await services.caller(user, via: .sshKey)
            return try await execute(request, caller)
        } catch {
            let failure = ServiceFailure(error)
            failure.log("request \(request.operation) of \(TerminalText.field(user.name, limit: 64))", to: services.broker.logger)
            emit(Self.line(failure.view), true)
            return failure.exitStatus
        }
    }

    private func execute(_ request: ControlRequest, _ caller: Caller) async throws -> Int32 {
        switch try await services.answer(request, for: caller) {
        case .one(let value): send(value)
        case .many(let values): values.forEach { send($0) }
        case .bytes(let data, _): emitData(data)
        case .verification(let report):
            send(report)
            return report.ok ? Status.ok : Status.failed
        case .offer(let offer):
            send(PairingUpdate(type: "code", session: offer.session, code: offer.code, expiresIn: offer.expiresIn))
            let outcome = await services.sessions.outcome(of: SessionID(rawValue: offer.session))
            send(outcome)
            switch outcome.type {
            case "approved": return Status.ok
            case "refused": return Status.refused
            case "expired": return Status.expired
            default: return Status.ended
            }
        }
        return Status.ok
    }

    private func send(_ value: some Encodable) {
        emit(Self.line(value), false)
    }

    /// One JSON value on one line; JSON escapes every control character, so a line is a line.
    static func line(_ value: some Encodable) -> String {
        guard let data = WireJSON.encode(value) else { return #"{"error":{"code":"unavailable","message":"the answer could not be encoded"}}"# + "\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
