import Foundation
import TandemCore

/// Wrong session-code guesses counted in the database, so that several brokers share one
/// allowance per source: a guesser spread over N replicas gets no more tries than on one.
public protocol GuessLedger: Sendable {
    /// Takes one guess of `source`'s allowance before its code is looked at: the count and the
    /// taking are one step under a lock per source, so concurrent guesses on any replica cannot
    /// slip past the limit.
    func reserveGuess(source: String, limits: GuessLimiter.Limits) async throws(StoreError) -> GuessReservation
    /// Whether `source` is refused now (seconds until it may guess again), without taking a place:
    /// for a code that needs no lookup, so nothing can slip past while it is answered.
    func guessBlock(source: String, limits: GuessLimiter.Limits) async throws(StoreError) -> Int?
    /// Ends a reserved guess: kept as a wrong guess when `wrong`, given back otherwise (a right
    /// code, or a real one that is spent, costs nothing).
    func settleGuess(_ id: Int64, wrong: Bool) async throws(StoreError)
}

/// The answer to a guess asked for: taken, refused for a while, or wait for guesses in flight.
public enum GuessReservation: Equatable, Sendable {
    case granted(id: Int64)
    /// The source (or, for a source that already guessed wrong, all sources) is over its limit.
    case refused(retryAfterSeconds: Int)
    /// The source's wrong guesses and its guesses being looked at fill its allowance: ask again soon.
    case busy
}
