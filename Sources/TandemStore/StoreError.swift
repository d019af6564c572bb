/// What can go wrong in the broker's store, with what the operator can do.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case sql(String)
    case constraint(String)
    case notInitialised(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open the database at \(path): \(reason). Check the path and its permissions, or run 'tandemd init'."
        case .sql(let text): return "database error: \(text)"
        case .constraint(let text): return "database refused the change: \(text)"
        case .notInitialised(let dir): return "no broker data in \(dir). Run 'tandemd init --data \(dir)' first."
        }
    }
}
