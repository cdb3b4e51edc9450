// The llama forward pass (as SmolLM2 uses it), in the spirit of llama2.c:
//   x = embed(token)
//   per layer:  x += Wo · attention(rope(Wq · norm(x)), rope(Wk · norm(x)), Wv · norm(x))
//               x += Wdown · (silu(Wgate · norm(x)) * (Wup · norm(x)))
//   logits = Wout · norm(x)
// Every step runs on a batch of tokens, each belonging to some sequence at some position,
// so prompt prefill and the decoding of several sequences share the same batched kernels.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The model's shape, read from the GGUF metadata.
public struct LlamaConfig: Sendable, Equatable {
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var blockCount: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDimension: Int
    public var ropeDimensions: Int
    public var ropeBase: Double
    public var normEpsilon: Float
    public var vocabularySize: Int
    public var contextLength: Int

    public var kvDimension: Int { headCountKV * headDimension }

    init(file: GGUFFile) throws {
        func required(_ key: String) throws -> Int {
            guard let v = file.integer(key), v > 0 else { throw GGUFError.missingMetadata(path: file.path, key: key) }
            return v
        }
        embeddingLength = try required("llama.embedding_length")
        feedForwardLength = try required("llama.feed_forward_length")
        blockCount = try required("llama.block_count")
        headCount = try required("llama.attention.head_count")
        headCountKV = file.integer("llama.attention.head_count_kv") ?? headCount
        contextLength = try required("llama.context_length")
        guard embeddingLength % headCount == 0, headCount % headCountKV == 0 else {
            throw GGUFError.invalidTensor(path: file.path, tensor: "*", reason: "\(headCount) heads and \(headCountKV) KV heads do not divide an embedding of \(embeddingLength)")
        }
        headDimension = embeddingLength / headCount
        ropeDimensions = file.integer("llama.rope.dimension_count") ?? headDimension
        guard ropeDimensions <= headDimension, ropeDimensions % 2 == 0 else {
            throw GGUFError.invalidTensor(path: file.path, tensor: "*", reason: "llama.rope.dimension_count \(ropeDimensions) does not fit a head of \(headDimension)")
        }
        ropeBase = Double(file.float("llama.rope.freq_base") ?? 10000)
        normEpsilon = file.float("llama.attention.layer_norm_rms_epsilon") ?? 1e-5
        vocabularySize = file.integer("llama.vocab_size") ?? file.strings("tokenizer.ggml.tokens")?.count ?? 0
    }
}

/// The weights of a llama model, read in place from the mapped file.
final class LlamaModel: @unchecked Sendable {
    struct Layer {
        var attentionNorm: [Float]
        var query, key, value, attentionOutput: WeightMatrix
        var feedForwardNorm: [Float]
        var gate, up, down: WeightMatrix
    }

    let file: GGUFFile
    let config: LlamaConfig
    let tokenEmbedding: WeightMatrix
    let outputNorm: [Float]
    /// `output.weight`, or the token embedding when the model ties them (SmolLM2 does).
    let output: WeightMatrix
    let layers: [Layer]

    init(file: GGUFFile) throws {
        let architecture = file.string("general.architecture") ?? "(missing general.architecture)"
        guard architecture == "llama" else {
            throw GGUFError.unsupportedArchitecture(path: file.path, found: architecture)
        }
        var config = try LlamaConfig(file: file)
        let c = config

        func tensor(_ name: String) throws -> GGUFTensor {
            guard let t = file.tensor(named: name) else { throw GGUFError.missingTensor(path: file.path, name: name) }
            return t
        }
        func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
            let m = try WeightMatrix(file: file, tensor: tensor(name))
            guard m.rows == rows, m.columns == columns else {
                throw GGUFError.invalidTensor(path: file.path, tensor: name, reason: "expected \(rows) rows of \(columns), found \(m.rows) rows of \(m.columns)")
            }
            return m
        }
        func vector(_ name: String, count: Int) throws -> [Float] {
            let t = try tensor(name)
            guard t.elementCount == count else {
                throw GGUFError.invalidTensor(path: file.path, tensor: name, reason: "expected \(count) values, found \(t.elementCount)")
            }
            let p = file.data(of: t)
            switch t.type {
            case .f32: return (0..<count).map { p.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            case .f16: return (0..<count).map { loadHalf(p, 2 * $0) }
            default: throw GGUFError.unsupportedTensorType(path: file.path, tensor: name, type: t.type.name)
            }
        }

        let embedding = try WeightMatrix(file: file, tensor: tensor("token_embd.weight"))
        guard embedding.columns == c.embeddingLength else {
            throw GGUFError.invalidTensor(path: file.path, tensor: "token_embd.weight", reason: "rows of \(embedding.columns), expected \(c.embeddingLength)")
        }
        if config.vocabularySize == 0 { config.vocabularySize = embedding.rows }
        tokenEmbedding = embedding
        outputNorm = try vector("output_norm.weight", count: c.embeddingLength)
        if file.tensor(named: "output.weight") != nil {
            output = try matrix("output.weight", rows: embedding.rows, columns: c.embeddingLength)
        } else {
            output = embedding
        }
        layers = try (0..<c.blockCount).map { i in
            let p = "blk.\(i)."
            return Layer(
                attentionNorm: try vector(p + "attn_norm.weight", count: c.embeddingLength),
                query: try matrix(p + "attn_q.weight", rows: c.embeddingLength, columns: c.embeddingLength),
                key: try matrix(p + "attn_k.weight", rows: c.kvDimension, columns: c.embeddingLength),
                value: try matrix(p + "attn_v.weight", rows: c.kvDimension, columns: c.embeddingLength),
                attentionOutput: try matrix(p + "attn_output.weight", rows: c.embeddingLength, columns: c.embeddingLength),
                feedForwardNorm: try vector(p + "ffn_norm.weight", count: c.embeddingLength),
                gate: try matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, columns: c.embeddingLength),
                up: try matrix(p + "ffn_up.weight", rows: c.feedForwardLength, columns: c.embeddingLength),
                down: try matrix(p + "ffn_down.weight", rows: c.embeddingLength, columns: c.feedForwardLength))
        }
        guard c.headDimension % 16 == 0, c.feedForwardLength % 32 == 0 else {
            throw GGUFError.invalidTensor(path: file.path, tensor: "*", reason: "head dimension \(c.headDimension) (needs a multiple of 16) or feed-forward length \(c.feedForwardLength) (needs a multiple of 32) does not fit the kernels")
        }
        self.file = file
        self.config = config
    }
}

/// One sequence's keys and values for every layer, F32, grown as the sequence grows (so a
/// short sequence does not hold a whole context's worth of memory).
final class KVCache {
    let layers: Int
    let width: Int
    let maximumLength: Int
    private(set) var capacity = 0
    /// Positions already stored.
    var length = 0
    private var keys: [UnsafeMutablePointer<Float>] = []
    private var values: [UnsafeMutablePointer<Float>] = []

    convenience init(config: LlamaConfig) {
        self.init(layers: config.blockCount, width: config.kvDimension, maximumLength: config.contextLength)
    }

    init(layers: Int, width: Int, maximumLength: Int) {
        self.layers = layers
        self.width = width
        self.maximumLength = maximumLength
    }

    /// Keys and values of one position, all layers.
    var bytesPerPosition: Int { 2 * layers * width * MemoryLayout<Float>.size }

    /// Replaces this cache's contents by the first `count` positions of `other` (same shape).
    func copyPrefix(of other: KVCache, count: Int) {
        precondition(other.layers == layers && other.width == width && count <= other.length, "incompatible caches")
        reserve(count)
        for l in 0..<layers {
            keys[l].update(from: other.keys[l], count: count * width)
            values[l].update(from: other.values[l], count: count * width)
        }
        length = count
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Makes room for `count` positions (doubling, capped at the context length).
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        let newCapacity = min(maximumLength, max(count, capacity * 2, 64))
        func grow(_ old: [UnsafeMutablePointer<Float>]) -> [UnsafeMutablePointer<Float>] {
            (0..<layers).map { l in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * width)
                if capacity > 0 {
                    p.update(from: old[l], count: length * width)
                    old[l].deallocate()
                }
                return p
            }
        }
        keys = grow(keys)
        values = grow(values)
        capacity = newCapacity
    }

    func key(layer: Int, position: Int) -> UnsafeMutablePointer<Float> { keys[layer] + position * width }
    func value(layer: Int, position: Int) -> UnsafeMutablePointer<Float> { values[layer] + position * width }
}

/// One token in a forward batch: which sequence, where in it, and whether its logits are
/// wanted (only the last prompt token's and each generated token's are).
struct BatchEntry {
    var cache: KVCache
    var position: Int
    var token: Int32
    var wantsLogits: Bool
}

/// Scratch buffers for a forward pass over up to `capacity` tokens.
final class Workspace {
    let capacity: Int
    let x, normed, query, key, value, attention, gate, up: UnsafeMutablePointer<Float>
    /// The current product's input arranged for the quantised kernels.
    let arrangedInput: UnsafeMutablePointer<Float>
    let attentionScratch: AttentionScratch
    let ropeTable: UnsafeMutablePointer<Float>

    init(config c: LlamaConfig, capacity: Int, threads: Int) {
        self.capacity = capacity
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        x = buffer(capacity * c.embeddingLength)
        normed = buffer(capacity * c.embeddingLength)
        query = buffer(capacity * c.embeddingLength)
        key = buffer(capacity * c.kvDimension)
        value = buffer(capacity * c.kvDimension)
        attention = buffer(capacity * c.embeddingLength)
        gate = buffer(capacity * c.feedForwardLength)
        up = buffer(capacity * c.feedForwardLength)
        arrangedInput = buffer(capacity * max(c.embeddingLength, c.feedForwardLength))
        attentionScratch = AttentionScratch(attention: GroupedQueryAttention(config: c), contextLength: c.contextLength,
                                            threads: threads)
        ropeTable = buffer(capacity * c.ropeDimensions)
    }

    deinit {
        for p in [x, normed, query, key, value, attention, gate, up, arrangedInput, ropeTable] { p.deallocate() }
    }
}

extension LlamaModel {
    /// Runs one batch through the model: appends each entry's key and value to its sequence's
    /// cache at its position, and writes the logits of the entries that want them, in order,
    /// to `logits` (`vocabularySize` floats each).
    /// Entries of one sequence must be consecutive positions starting at its cache length.
    func forward(_ batch: [BatchEntry], workspace w: Workspace, parallel: Parallel,
                 logits: UnsafeMutablePointer<Float>) {
        let c = config
        let n = batch.count
        precondition(n <= w.capacity, "batch of \(n) exceeds the workspace")
        let dim = c.embeddingLength, kvDim = c.kvDimension, hidden = c.feedForwardLength

        for (i, entry) in batch.enumerated() {
            precondition(entry.position < c.contextLength, "position past the context")
            entry.cache.reserve(entry.position + 1)
            embed(entry.token, into: w.x + i * dim)
            fillRope(position: entry.position, into: w.ropeTable + i * c.ropeDimensions)
        }

        for (l, layer) in layers.enumerated() {
            for i in 0..<n {
                rmsNorm(w.x + i * dim, weight: layer.attentionNorm, into: w.normed + i * dim)
            }
            multiply([(layer.query, w.query), (layer.key, w.key), (layer.value, w.value)],
                     input: w.normed, count: n, workspace: w, parallel: parallel)
            for (i, entry) in batch.enumerated() {
                let table = w.ropeTable + i * c.ropeDimensions
                for h in 0..<c.headCount { rotate(w.query + i * dim + h * c.headDimension, table: table) }
                for h in 0..<c.headCountKV { rotate(w.key + i * kvDim + h * c.headDimension, table: table) }
                entry.cache.key(layer: l, position: entry.position).update(from: w.key + i * kvDim, count: kvDim)
                entry.cache.value(layer: l, position: entry.position).update(from: w.value + i * kvDim, count: kvDim)
            }
            attend(batch, layer: l, workspace: w, parallel: parallel)
            multiply([(layer.attentionOutput, w.normed)], input: w.attention, count: n, workspace: w, parallel: parallel)
            for i in 0..<n { add(w.normed + i * dim, into: w.x + i * dim, count: dim) }

            for i in 0..<n {
                rmsNorm(w.x + i * dim, weight: layer.feedForwardNorm, into: w.normed + i * dim)
            }
            multiply([(layer.gate, w.gate), (layer.up, w.up)], input: w.normed, count: n, workspace: w, parallel: parallel)
            swiGLU(w.gate, w.up, count: n * hidden)
            multiply([(layer.down, w.normed)], input: w.gate, count: n, workspace: w, parallel: parallel)
            for i in 0..<n { add(w.normed + i * dim, into: w.x + i * dim, count: dim) }
        }
        for entry in batch { entry.cache.length = max(entry.cache.length, entry.position + 1) }

        var wanted = 0
        for (i, entry) in batch.enumerated() where entry.wantsLogits {
            rmsNorm(w.x + i * dim, weight: outputNorm, into: w.normed + wanted * dim)
            wanted += 1
        }
        if wanted > 0 {
            multiply([(output, logits)], input: w.normed, count: wanted, workspace: w, parallel: parallel)
        }
    }

    /// The embedding row of `token`, dequantised.
    func embed(_ token: Int32, into out: UnsafeMutablePointer<Float>) {
        let row = tokenEmbedding.dequantizedRow(Int(token))
        out.update(from: row, count: row.count)
    }

    /// Several products with the same input, rows of all of them spread over the threads
    /// as one piece of work (one synchronisation instead of one per matrix). The input is
    /// first arranged in each kernel's order (see `InputOrder`).
    func multiply(_ products: [(WeightMatrix, UnsafeMutablePointer<Float>)], input: UnsafeMutablePointer<Float>,
                  count: Int, workspace w: Workspace, parallel: Parallel) {
        let columns = products[0].0.columns
        var arranged: [InputOrder: UnsafeMutablePointer<Float>] = [.natural: input]
        for (matrix, _) in products where arranged[matrix.inputOrder] == nil {
            matrix.inputOrder.arrange(input, count: count, columns: columns, into: w.arrangedInput)
            arranged[matrix.inputOrder] = w.arrangedInput
        }
        let total = products.reduce(0) { $0 + $1.0.rows }
        parallel.forEachRange(total, granularity: 16) { _, range in
            var offset = 0
            for (matrix, out) in products {
                let lower = max(range.lowerBound - offset, 0)
                let upper = min(range.upperBound - offset, matrix.rows)
                if lower < upper {
                    matrix.multiply(rows: lower..<upper, x: arranged[matrix.inputOrder]!, xStride: columns,
                                    count: count, out: out, outStride: matrix.rows)
                }
                offset += matrix.rows
            }
        }
    }

    /// RMSNorm: x / sqrt(mean(x²) + ε) · weight, the mean taken in Double as ggml does.
    func rmsNorm(_ x: UnsafeMutablePointer<Float>, weight: [Float], into out: UnsafeMutablePointer<Float>) {
        let n = weight.count
        var sum = 0.0
        for j in 0..<n { sum += Double(x[j] * x[j]) }
        let scale = Float(1 / (sum / Double(n) + Double(config.normEpsilon)).squareRoot())
        for j in 0..<n { out[j] = x[j] * scale * weight[j] }
    }

    /// cos and sin of each rotary frequency at `position`, interleaved.
    func fillRope(position: Int, into table: UnsafeMutablePointer<Float>) {
        let d = config.ropeDimensions
        for i in 0..<d / 2 {
            let theta = Double(position) * pow(config.ropeBase, -2 * Double(i) / Double(d))
            table[2 * i] = Float(cos(theta))
            table[2 * i + 1] = Float(sin(theta))
        }
    }

    /// Rotary embedding, llama.cpp's "normal" layout: adjacent pairs (x[2i], x[2i+1]) are
    /// rotated (the GGUF converter permutes the Q and K rows so that this matches the
    /// Hugging Face rotate-half form).
    func rotate(_ x: UnsafeMutablePointer<Float>, table: UnsafeMutablePointer<Float>) {
        for i in 0..<config.ropeDimensions / 2 {
            let cosine = table[2 * i], sine = table[2 * i + 1]
            let a = x[2 * i], b = x[2 * i + 1]
            x[2 * i] = a * cosine - b * sine
            x[2 * i + 1] = a * sine + b * cosine
        }
    }

    func add(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for j in 0..<count { y[j] += x[j] }
    }
}
