import CKernels
import Foundation

/// Spreads independent pieces of work over a fixed number of threads. Each piece writes only
/// its own outputs and computes them the same way on any thread, so results never depend on
/// the thread count or on which thread ran first. `forEachRange` splits the work by a fixed
/// rule (contiguous, nearly equal ranges); `forEachChunk` hands small chunks to whichever
/// thread is free.
///
/// The threads are a `WorkerPool` of this value's own (copies share it): a decode step runs
/// about 150 regions, too short to hand to libdispatch.
struct Parallel: Sendable {
    let threads: Int
    private let pool: WorkerPool?

    init(threads: Int) {
        self.threads = max(1, threads)
        pool = self.threads > 1 ? WorkerPool(threads: self.threads) : nil
    }

    /// Runs `body` on each of `parts` pieces (`parts` ≤ `threads`); on the calling thread
    /// when there is one piece or one thread.
    private func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1, let pool else {
            for part in 0..<parts { body(part) }
            return
        }
        pool.run(parts: parts, body)
    }

    /// Runs `body(part, range)` over `0..<count` split into one contiguous range per thread
    /// (`part` < `threads`, for per-thread scratch), ranges aligned to `granularity`.
    func forEachRange(_ count: Int, granularity: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / max(1, granularity)))
        run(parts: parts) { part in
            body(part, Self.range(part: part, of: parts, count: count, granularity: granularity))
        }
    }

    /// Runs `body(worker, chunk)` once for every chunk in `0..<count`, handing the chunks out
    /// in order to whichever thread is free (`worker` < `threads`, for per-thread scratch).
    /// Which thread computes a chunk then depends on timing, so use it only where a chunk's
    /// outputs do not depend on the thread computing them; in exchange a thread slowed down
    /// (by other processes on a shared machine) holds up only its current chunk, not a fixed
    /// share of the work while the other threads wait for it.
    func forEachChunk(_ count: Int, _ body: (Int, Int) -> Void) {
        let workers = min(threads, count)
        guard workers > 1 else {
            for chunk in 0..<count { body(0, chunk) }
            return
        }
        let dispenser = ChunkDispenser(count: count)
        run(parts: workers) { worker in
            while let chunk = dispenser.next() { body(worker, chunk) }
        }
    }

    static func range(part: Int, of parts: Int, count: Int, granularity: Int) -> Range<Int> {
        let units = (count + granularity - 1) / granularity
        let lower = min(count, units * part / parts * granularity)
        let upper = min(count, units * (part + 1) / parts * granularity)
        return lower..<upper
    }
}

/// The C worker pool (`ck_pool.h`), its threads joined when the last `Parallel` sharing it
/// goes. Without it (a thread could not be started) the parts run on the calling thread.
private final class WorkerPool: @unchecked Sendable {
    private let pool: OpaquePointer?

    init(threads: Int) { pool = ck_pool_create(threads) }

    deinit { ck_pool_destroy(pool) }

    /// Runs `body(part)` for each part; the closures passed here write disjoint memory by
    /// construction, so running them on other threads is safe.
    func run(parts: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { task in
                ck_pool_run(pool, parts, { context, part in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(part)
                }, task)
            }
        }
    }
}

/// Hands out 0, 1, 2, … up to a count, each once, to any thread. A lock is plenty: a chunk is
/// thousands of times longer than taking the lock.
private final class ChunkDispenser: @unchecked Sendable {
    private let count: Int
    private var taken = 0
    private let lock = NSLock()

    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard taken < count else { return nil }
        taken += 1
        return taken - 1
    }
}
