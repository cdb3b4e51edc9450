import Corpus
import Dispatch
import Foundation

/// Corpus writes gathered into few transactions: answers and the rows made from them arrive
/// one by one, and a commit per answer would cost more than the answer at a thousand calls a
/// second, while holding everything until a stage ends would lose it all to a kill.
///
/// Writes are queued in the order they are added and committed together, in that order,
/// once `maxWrites` are waiting or the oldest has waited `maxDelay` seconds (a timer commits
/// them even when no further answer comes). A kill therefore loses at most the writes of the
/// last `maxDelay` seconds, and nothing that was committed: every commit is one transaction,
/// so a row never lands without the archived call it points at. A failed commit is rethrown
/// by the next `add` or `commit`.
public final class GroupCommit: @unchecked Sendable {
    public let corpus: Corpus
    public let maxWrites: Int
    public let maxDelay: Double

    /// Held while a batch is taken and committed, so batches commit in the order queued.
    private let committing = NSLock()
    private let state = NSLock()
    private var pending: [(Corpus) throws -> Void] = []
    /// Counts batches taken, so a timer set for an earlier batch does not commit a later one early.
    private var generation = 0
    private var failure: Error?

    public init(corpus: Corpus, maxWrites: Int = 64, maxDelay: Double = 1) {
        self.corpus = corpus
        self.maxWrites = max(1, maxWrites)
        self.maxDelay = max(0, maxDelay)
    }

    /// Queues one write (a closure of corpus inserts, run inside the group's transaction).
    public func add(_ write: @escaping (Corpus) throws -> Void) throws {
        let (count, startTimer, batch) = try state.withLock { () throws -> (Int, Bool, Int) in
            if let failure { throw failure }
            pending.append(write)
            return (pending.count, pending.count == 1, generation)
        }
        if count >= maxWrites {
            try commit()
        } else if startTimer {
            DispatchQueue.global().asyncAfter(deadline: .now() + maxDelay) { [weak self] in
                self?.commitOnTimer(batch)
            }
        }
    }

    /// Commits everything queued, now; rethrows an earlier failed commit.
    public func commit() throws {
        try committing.withLock {
            let writes = try state.withLock { () throws -> [(Corpus) throws -> Void] in
                if let failure { throw failure }
                defer { pending = []; generation += 1 }
                return pending
            }
            guard !writes.isEmpty else { return }
            do {
                try corpus.transaction { for write in writes { try write(corpus) } }
            } catch {
                state.withLock { failure = error }
                throw error
            }
        }
    }

    private func commitOnTimer(_ batch: Int) {
        guard state.withLock({ generation == batch && !pending.isEmpty }) else { return }
        try? commit()
    }
}
