import ArgumentParser
import Foundation
import TandemAPI
import TandemText

extension TandemCommand {
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "API tokens for the broker's HTTP API, made with your SSH key.",
            discussion: """
                Example:
                  tandem token new --name ci --expires 8h
                  curl --cacert ca.crt -H "Authorization: Bearer tok_…" https://broker:8443/v1/tickets
                A token acts with your role; it is shown once and stored only as a hash.
                """,
            subcommands: [New.self, List.self, Revoke.self])

        struct New: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Make a token (printed once).")
            @OptionGroup var options: CLIOptions
            @Option(help: "A name to recognise it by in 'tandem token list'.") var name = "token"
            @Option(help: "How long it lives: 90s, 30m, 8h or 7d (at most 30d).") var expires = "8h"

            func validate() throws {
                guard let seconds = Self.seconds(expires), (60...ControlRequest.maxTokenSeconds).contains(seconds) else {
                    throw ValidationError("--expires takes a duration from 60s to 30d, e.g. 8h")
                }
            }

            func run() throws {
                let minted = try RemoteCall(options: options, request: .tokenNew(name: name, expiresIn: Self.seconds(expires) ?? 0))
                    .one(MintedToken.self)
                // Alone on stdout, so `$(tandem token new)` captures just the token.
                writeText(TerminalText.escape(minted.token) + "\n")
                writeText("Token \(TerminalText.escape(minted.info.id)) expires \(Self.date(minted.info.expires)); it is not shown again.\n", fd: 2)
            }

            static func seconds(_ text: String) -> Int? {
                let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
                guard let unit = text.last.flatMap({ units[$0] }), let n = Int(text.dropLast()), n > 0, n <= 1_000_000 else { return nil }
                return n * unit
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Your tokens (an admin sees everyone's).")
            @OptionGroup var options: CLIOptions
            func run() throws {
                let now = Date().timeIntervalSince1970
                for t in try RemoteCall(options: options, request: .tokenList).many(TokenView.self) {
                    let state = t.revoked != nil ? "revoked" : t.expires <= now ? "expired" : "expires \(New.date(t.expires))"
                    writeText([t.id, t.owner, t.name, state].map { TerminalText.escape($0) }.joined(separator: "\t") + "\n")
                }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token now.", discussion: "Example: tandem token revoke tok_3f9a1c2d0b4e")
            @OptionGroup var options: CLIOptions
            @Argument(help: "The token's id (tok_…), from 'tandem token list'.") var id: String
            func run() throws {
                let t = try RemoteCall(options: options, request: .tokenRevoke(id: id)).one(TokenView.self)
                writeText("Token \(TerminalText.escape(t.id)) revoked.\n")
            }
        }
    }
}

extension TandemCommand.Token.New {
    static func date(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }
}
