/// A finished future's outcome with its value type erased.
///
/// Pool workers run code from this module that is not specialised for the caller's types;
/// if that code touched `Result<Value, Error>` or other types built from `Value`, every task
/// would pay for runtime generic-metadata lookups. Workers therefore only handle this
/// non-generic form; the typed view is rebuilt in `@inlinable` code, specialised where the
/// caller compiles it.
@usableFromInline
enum FutureOutcome: Sendable {
    case success(any Sendable)
    case failure(any Error)

    /// The value as `Value`, or the error rethrown.
    @inlinable
    func get<Value>(as type: Value.Type) throws -> Value {
        switch self {
        case .success(let boxed): return boxed as! Value
        case .failure(let error): throw error
        }
    }

    @inlinable
    func result<Value>(as type: Value.Type) -> Result<Value, any Error> {
        switch self {
        case .success(let boxed): return .success(boxed as! Value)
        case .failure(let error): return .failure(error)
        }
    }
}
