import Dispatch

/// Runs engine work on a thread of its own and awaits it. A generation holds its thread for
/// seconds; on the cooperative pool (two threads on a 2-core machine) it would stall the
/// other suites' async tests, such as the HTTP client's timeouts, that run beside it.
func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
