public import PoolSystem

/// A failed operating-system call (see PoolSystem, the platform layer): named here too, where
/// the pools and codec's users have always found it.
public typealias SystemCallError = PoolSystem.SystemCallError

/// The raw descriptor calls, retried on `EINTR` (see PoolSystem).
public typealias Descriptor = PoolSystem.Descriptor
