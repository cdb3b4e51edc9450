import Foundation
import Testing
@testable import Inference

/// The worker pool behind `Parallel`: every part runs exactly once per region, over many
/// back-to-back regions (the decode pattern), with regions nested inside a part and started
/// from two threads at once on one pool (both run on the caller instead).
@Suite struct ParallelTests {
    @Test(arguments: [2, 3, 4])
    func everyPartRunsOnceInEveryRegion(threads: Int) {
        let parallel = Parallel(threads: threads)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        defer { counts.deallocate() }
        for region in 0..<20_000 {
            let count = 1 + region % 1000
            counts.initialize(repeating: 0, count: count)
            parallel.forEachRange(count) { _, range in
                for i in range { counts[i] += 1 }
            }
            let wrong = (0..<count).filter { counts[$0] != 1 }
            if !wrong.isEmpty {
                Issue.record("region \(region): items \(wrong.prefix(5)) ran \(wrong.prefix(5).map { counts[$0] }) times")
                return
            }
        }
    }

    @Test func chunksRunOnceEachWithTheirWorkerIndexInRange() {
        let parallel = Parallel(threads: 2)
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 300)
        defer { seen.deallocate() }
        for _ in 0..<200 {
            seen.initialize(repeating: 0, count: 300)
            let badWorker = Locked(false)
            parallel.forEachChunk(300) { worker, chunk in
                if worker < 0 || worker >= 2 { badWorker.set(true) }
                seen[chunk] += 1
            }
            #expect(!badWorker.value)
            #expect((0..<300).allSatisfy { seen[$0] == 1 })
        }
    }

    @Test func nestedAndConcurrentRegionsRunEveryPart() async {
        let parallel = Parallel(threads: 2)
        func sum(_ n: Int) -> Int {
            let parts = UnsafeMutablePointer<Int>.allocate(capacity: 2)
            defer { parts.deallocate() }
            parts.initialize(repeating: 0, count: 2)
            parallel.forEachRange(n) { part, range in
                // A region inside a part: the pool is busy, so it runs on this thread.
                let inner = UnsafeMutablePointer<Int>.allocate(capacity: 2)
                defer { inner.deallocate() }
                inner.initialize(repeating: 0, count: 2)
                parallel.forEachRange(range.count) { p, r in inner[p] = r.count }
                parts[part] = range.reduce(0, +) + (inner[0] + inner[1] - range.count)
            }
            return parts[0] + parts[1]
        }
        let results = await withTaskGroup(of: Bool.self) { group in
            for task in 0..<4 {
                group.addTask {
                    (0..<500).allSatisfy { i in
                        let n = 10 + (i * 7 + task) % 90
                        return sum(n) == n * (n - 1) / 2
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == [true, true, true, true])
    }
}

/// A value behind a lock, for flags set from any thread.
private final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func set(_ value: T) { lock.withLock { stored = value } }
}
