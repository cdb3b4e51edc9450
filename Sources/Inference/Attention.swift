// Grouped-query causal attention of a forward batch, on the C kernels of `ck_attention.h`.
//
// The queries that read the same keys and values are computed together: the query heads
// that share a KV head (3 per KV head in SmolLM2) and up to `tokensPerItem` consecutive
// prompt tokens of one sequence. The kernels then read each block of keys and each value row
// once for all of them instead of once per query. A query's own arithmetic is the same
// whichever queries it is grouped with and whichever thread runs it, so neither the batch's
// composition nor the thread count changes a bit.
import CKernels

/// The shape of grouped-query attention: `heads` query heads, `heads / kvHeads` of them
/// reading each of the `kvHeads` key/value heads, each head `headDimension` wide (a multiple
/// of 8).
struct GroupedQueryAttention: Sendable {
    var heads: Int
    var kvHeads: Int
    var headDimension: Int

    init(heads: Int, kvHeads: Int, headDimension: Int) {
        precondition(heads % kvHeads == 0 && headDimension % 8 == 0, "unsupported attention shape")
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
    }

    init(config c: LlamaConfig) {
        self.init(heads: c.headCount, kvHeads: c.headCountKV, headDimension: c.headDimension)
    }

    /// Query heads per KV head.
    var group: Int { heads / kvHeads }

    /// Consecutive tokens of one sequence per work item.
    static let tokensPerItem = 8

    /// Attention of every (entry, head) over its own sequence's cache up to its own position:
    /// entry i's query for head h is at `queries + (i · heads + h) · headDimension`, its
    /// output goes to the same place in `out`. The batch's keys and values must already be
    /// in the caches (layer `layer`, rows of `kvHeads · headDimension`).
    func run(_ batch: [BatchEntry], layer l: Int, queries: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
             scratch: AttentionScratch, parallel: Parallel, variant: KernelVariant = .current) {
        let headDim = headDimension, dim = heads * headDimension, kvDim = kvHeads * headDimension
        let group = self.group
        precondition(scratch.rows >= Self.tokensPerItem * group && scratch.dimensions == headDim
                     && batch.allSatisfy { $0.position < scratch.scoreStride }, "attention scratch of another shape")
        let scale = 1 / Float(headDim).squareRoot()
        // Runs of consecutive positions of one sequence, at most `tokensPerItem` long.
        var runs: [Range<Int>] = []
        var start = 0
        while start < batch.count {
            var end = start + 1
            while end < batch.count, end - start < Self.tokensPerItem,
                  batch[end].cache === batch[start].cache, batch[end].position == batch[end - 1].position + 1 {
                end += 1
            }
            runs.append(start..<end)
            start = end
        }
        // Short contexts are cheaper to attend to on one thread than to hand out. Work items
        // are a run × the query heads of one KV head, or × one query head when that leaves
        // too few items to share between the threads (decoding one sequence).
        let positions = batch.reduce(0) { $0 + $1.position + 1 }
        let threads = positions * heads < 4096 ? Parallel(threads: 1) : parallel
        let headsPerItem = threads.threads == 1 || runs.count * kvHeads >= 2 * threads.threads ? group : 1
        let itemsPerRun = heads / headsPerItem
        threads.forEachChunk(runs.count * itemsPerRun) { worker, item in
            let run = runs[item / itemsPerRun]
            let itemHeads = (item % itemsPerRun) * headsPerItem ..< (item % itemsPerRun + 1) * headsPerItem
            let s = scratch.part(worker)
            var rows = 0
            for i in run {
                for h in itemHeads {
                    (s.queries + rows * headDim).update(from: queries + i * dim + h * headDim, count: headDim)
                    s.lengths[rows] = batch[i].position + 1
                    rows += 1
                }
            }
            let cache = batch[run.lowerBound].cache
            let kvOffset = (itemHeads.lowerBound / group) * headDim
            // The last row is the run's last token: the longest.
            ck_attention_scores(variant.c, s.queries, headDim, rows, cache.key(layer: l, position: 0) + kvOffset,
                                kvDim, s.lengths[rows - 1], headDim, scale, s.scores, scratch.scoreStride)
            for r in 0..<rows {
                s.inverses[r] = 1 / ck_softmax_numerators(variant.c, s.scores + r * scratch.scoreStride, s.lengths[r])
            }
            ck_attention_weighted_sum(variant.c, cache.value(layer: l, position: 0) + kvOffset, kvDim,
                                      s.scores, scratch.scoreStride, s.lengths, s.inverses, rows, headDim,
                                      s.outputs, headDim)
            rows = 0
            for i in run {
                for h in itemHeads {
                    (out + i * dim + h * headDim).update(from: s.outputs + rows * headDim, count: headDim)
                    rows += 1
                }
            }
        }
    }
}

/// Per-thread scratch for `GroupedQueryAttention.run`: one work item's queries, scores (one
/// row per query, up to the context length), softmax inverses and outputs.
final class AttentionScratch {
    let rows: Int
    let dimensions: Int
    let scoreStride: Int
    private let queries, outputs, scores, inverses: UnsafeMutablePointer<Float>
    private let lengths: UnsafeMutablePointer<Int>

    init(attention a: GroupedQueryAttention, contextLength: Int, threads: Int) {
        let threads = max(1, threads)
        rows = GroupedQueryAttention.tokensPerItem * a.group
        dimensions = a.headDimension
        scoreStride = contextLength
        func buffer<T: Numeric>(_ n: Int, _: T.Type) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        queries = buffer(threads * rows * dimensions, Float.self)
        outputs = buffer(threads * rows * dimensions, Float.self)
        scores = buffer(threads * rows * scoreStride, Float.self)
        inverses = buffer(threads * rows, Float.self)
        lengths = buffer(threads * rows, Int.self)
    }

    deinit {
        for p in [queries, outputs, scores, inverses] { p.deallocate() }
        lengths.deallocate()
    }

    /// Worker `worker`'s share of each buffer.
    func part(_ worker: Int) -> (queries: UnsafeMutablePointer<Float>, outputs: UnsafeMutablePointer<Float>,
                                 scores: UnsafeMutablePointer<Float>, inverses: UnsafeMutablePointer<Float>,
                                 lengths: UnsafeMutablePointer<Int>) {
        (queries + worker * rows * dimensions, outputs + worker * rows * dimensions,
         scores + worker * rows * scoreStride, inverses + worker * rows, lengths + worker * rows)
    }
}

extension LlamaModel {
    /// Grouped-query attention for every (entry, head) of the batch, from `workspace.query`
    /// into `workspace.attention`.
    func attend(_ batch: [BatchEntry], layer l: Int, workspace w: Workspace, parallel: Parallel) {
        GroupedQueryAttention(config: config).run(batch, layer: l, queries: w.query, into: w.attention,
                                                  scratch: w.attentionScratch, parallel: parallel)
    }
}
