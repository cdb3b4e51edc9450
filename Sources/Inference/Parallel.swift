import Dispatch

/// Spreads independent pieces of work over a fixed number of threads. Work is split by a
/// fixed rule (contiguous, nearly equal ranges), and each piece writes only its own outputs,
/// so results never depend on the thread count or on which thread ran first.
struct Parallel: Sendable {
    let threads: Int

    init(threads: Int) {
        self.threads = max(1, threads)
    }

    /// Runs `body` on each of `parts` pieces (`parts` ≤ `threads`); on the calling thread
    /// when there is one piece or one thread.
    private func run(parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 || threads == 1 {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in box.value(part) }
        }
    }

    /// Runs `body(part, range)` over `0..<count` split into one contiguous range per thread
    /// (`part` < `threads`, for per-thread scratch), ranges aligned to `granularity`.
    func forEachRange(_ count: Int, granularity: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / max(1, granularity)))
        run(parts: parts) { part in
            body(part, Self.range(part: part, of: parts, count: count, granularity: granularity))
        }
    }

    static func range(part: Int, of parts: Int, count: Int, granularity: Int) -> Range<Int> {
        let units = (count + granularity - 1) / granularity
        let lower = min(count, units * part / parts * granularity)
        let upper = min(count, units * (part + 1) / parts * granularity)
        return lower..<upper
    }
}

/// Carries a non-Sendable closure across the concurrentPerform boundary; the closures passed
/// here write disjoint memory by construction.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
