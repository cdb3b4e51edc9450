// The BERT encoder (as all-MiniLM-L6-v2 uses it) and the sentence embeddings made from it,
// in the spirit of Llama.swift:
//   x = LayerNorm(word[token] + type[0] + position[p])
//   per layer:  x = LayerNorm(x + Wo · attention(Wq · x + bq, Wk · x + bk, Wv · x + bv) + bo)
//               x = LayerNorm(x + W2 · gelu(W1 · x + b1) + b2)
//   embedding = normalise(mean of x over all the sentence's tokens, [CLS] and [SEP] included)
// Attention is bidirectional, within one sentence. The sentences of a batch are laid end to
// end without padding: the dense products run over all their tokens at once (each weight
// panel is read once per block of tokens), attention over each sentence's own tokens. Since
// every kernel computes a token's values the same way whatever its neighbours and whichever
// thread runs it (see Kernels.swift), a sentence's embedding does not depend on the batch or
// the thread count, and the work can be handed out in small chunks to whichever thread is
// free (`Parallel.forEachChunk`).
import Foundation

/// The encoder's shape, read from the tensor shapes (the head count and ε are not in the
/// file; they are MiniLM's and BERT's).
public struct BertConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var maximumPositions: Int
    public var vocabularySize: Int
    public var normEpsilon: Float

    public var headDimension: Int { hiddenSize / headCount }
}

/// The weights of a BERT encoder: embeddings read in place from the mapped file, the layers'
/// matrices packed for the kernel.
final class BertModel: @unchecked Sendable {
    struct Norm {
        var weight: [Float]
        var bias: [Float]
    }

    struct Layer {
        /// Q, K and V stacked: one product, one synchronisation.
        var queryKeyValue: PackedMatrix
        var attentionOutput: PackedMatrix
        var attentionNorm: Norm
        var intermediate: PackedMatrix
        var output: PackedMatrix
        var outputNorm: Norm
    }

    let file: SafetensorsFile
    let config: BertConfig
    /// `vocabularySize` rows of `hiddenSize` floats, in the mapped file.
    let wordEmbeddings: UnsafeRawPointer
    let positionEmbeddings: [Float]
    /// Every token is of type 0 (one sentence per input).
    let tokenTypeEmbedding: [Float]
    let embeddingNorm: Norm
    let layers: [Layer]

    init(file: SafetensorsFile, headCount: Int = 12, normEpsilon: Float = 1e-12) throws {
        func shape(_ name: String) throws -> [Int] {
            guard let tensor = file.tensor(named: name) else { throw SafetensorsError.missingTensor(path: file.path, name: name) }
            guard tensor.shape.count == 2 else {
                throw SafetensorsError.invalidTensor(path: file.path, tensor: name, reason: "expected a matrix, found shape \(tensor.shape)")
            }
            return tensor.shape
        }
        let words = try shape("embeddings.word_embeddings.weight")
        let hidden = words[1]
        let positions = try shape("embeddings.position_embeddings.weight")[0]
        let intermediate = try shape("encoder.layer.0.intermediate.dense.weight")[0]
        var layerCount = 0
        while file.tensor(named: "encoder.layer.\(layerCount).attention.self.query.weight") != nil { layerCount += 1 }
        guard layerCount > 0 else { throw SafetensorsError.missingTensor(path: file.path, name: "encoder.layer.0.attention.self.query.weight") }
        let c = BertConfig(hiddenSize: hidden, layerCount: layerCount, headCount: headCount,
                           intermediateSize: intermediate, maximumPositions: positions,
                           vocabularySize: words[0], normEpsilon: normEpsilon)
        guard hidden % 16 == 0, hidden % headCount == 0, c.headDimension % 8 == 0, intermediate % 16 == 0 else {
            throw SafetensorsError.invalidTensor(path: file.path, tensor: "encoder.layer.0.*",
                                                 reason: "hidden size \(hidden) with \(headCount) heads, or intermediate size \(intermediate), does not fit the kernels (multiples of 16, heads of a multiple of 8)")
        }

        func vector(_ name: String, _ count: Int) throws -> [Float] { try file.floats(name, shape: [count]) }
        func norm(_ prefix: String) throws -> Norm {
            Norm(weight: try vector(prefix + ".weight", hidden), bias: try vector(prefix + ".bias", hidden))
        }
        func linear(_ prefixes: [String], rows: Int, columns: Int) throws -> PackedMatrix {
            let parts = try prefixes.map { prefix in
                (weights: try file.f32Data(prefix + ".weight", shape: [rows, columns]).1, bias: try vector(prefix + ".bias", rows))
            }
            return PackedMatrix(parts: parts, columns: columns)
        }

        wordEmbeddings = try file.f32Data("embeddings.word_embeddings.weight", shape: [c.vocabularySize, hidden]).1
        positionEmbeddings = try file.floats("embeddings.position_embeddings.weight", shape: [positions, hidden])
        let types = try shape("embeddings.token_type_embeddings.weight")[0]
        tokenTypeEmbedding = Array(try file.floats("embeddings.token_type_embeddings.weight", shape: [types, hidden]).prefix(hidden))
        embeddingNorm = try norm("embeddings.LayerNorm")
        layers = try (0..<layerCount).map { l in
            let p = "encoder.layer.\(l)."
            return Layer(
                queryKeyValue: try linear([p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"],
                                          rows: hidden, columns: hidden),
                attentionOutput: try linear([p + "attention.output.dense"], rows: hidden, columns: hidden),
                attentionNorm: try norm(p + "attention.output.LayerNorm"),
                intermediate: try linear([p + "intermediate.dense"], rows: intermediate, columns: hidden),
                output: try linear([p + "output.dense"], rows: hidden, columns: intermediate),
                outputNorm: try norm(p + "output.LayerNorm"))
        }
        self.file = file
        self.config = c
    }
}

/// Scratch buffers for a forward pass over up to `capacity` tokens.
final class BertWorkspace {
    let capacity: Int
    let x, queryKeyValue, context, projected, intermediate: UnsafeMutablePointer<Float>
    /// Attention scratch (transposed keys, scores) for each thread.
    let scratch: UnsafeMutablePointer<Float>
    let scratchStride: Int

    init(config c: BertConfig, capacity: Int, threads: Int) {
        self.capacity = capacity
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        x = buffer(capacity * c.hiddenSize)
        queryKeyValue = buffer(capacity * 3 * c.hiddenSize)
        context = buffer(capacity * c.hiddenSize)
        projected = buffer(capacity * c.hiddenSize)
        intermediate = buffer(capacity * c.intermediateSize)
        scratchStride = attentionScratch(count: c.maximumPositions, dimensions: c.headDimension)
        scratch = buffer(max(1, threads) * scratchStride)
    }

    deinit {
        for p in [x, queryKeyValue, context, projected, intermediate, scratch] { p.deallocate() }
    }
}

extension BertModel {
    /// The mean-pooled, L2-normalised embedding of each sequence of token ids. Each sequence
    /// holds 1...`maximumPositions` valid ids; together at most `workspace.capacity`. The
    /// kernels are `variant`'s C kernels, or (nil) the Swift ones; the bits are the same.
    func embed(_ sequences: [[Int32]], workspace w: BertWorkspace, parallel: Parallel,
               variant: KernelVariant? = .current) -> [[Float]] {
        let c = config
        let dim = c.hiddenSize
        var starts: [Int] = []
        var n = 0
        for sequence in sequences {
            precondition(!sequence.isEmpty && sequence.count <= c.maximumPositions, "sequence length out of range")
            starts.append(n)
            n += sequence.count
        }
        precondition(n <= w.capacity, "batch of \(n) tokens exceeds the workspace")
        let tokens = sequences.flatMap { sequence in sequence.enumerated().map { (id: $0.element, position: $0.offset) } }

        parallel.forEachChunk(Self.chunks(n)) { _, chunk in
            for i in Self.rows(of: chunk, count: n) { embed(tokens[i].id, position: tokens[i].position, into: w.x + i * dim, variant: variant) }
        }
        for layer in layers {
            multiply(layer.queryKeyValue, input: w.x, count: n, into: w.queryKeyValue, parallel: parallel, variant: variant)
            attend(starts: starts, lengths: sequences.map(\.count), workspace: w, parallel: parallel, variant: variant)
            multiply(layer.attentionOutput, input: w.context, count: n, into: w.projected, parallel: parallel, variant: variant)
            addAndNormalize(w.projected, into: w.x, norm: layer.attentionNorm, count: n, parallel: parallel, variant: variant)

            multiply(layer.intermediate, input: w.x, count: n, into: w.intermediate, parallel: parallel, variant: variant)
            parallel.forEachChunk(Self.chunks(n)) { _, chunk in
                let rows = Self.rows(of: chunk, count: n)
                gelu(w.intermediate + rows.lowerBound * c.intermediateSize, count: rows.count * c.intermediateSize,
                     variant: variant)
            }
            multiply(layer.output, input: w.intermediate, count: n, into: w.projected, parallel: parallel, variant: variant)
            addAndNormalize(w.projected, into: w.x, norm: layer.outputNorm, count: n, parallel: parallel, variant: variant)
        }
        return zip(starts, sequences).map { start, sequence in
            meanPooledUnitVector(w.x + start * dim, count: sequence.count)
        }
    }

    /// x = LayerNorm(word[token] + type[0] + position[p]), summed in PyTorch's order.
    func embed(_ token: Int32, position: Int, into x: UnsafeMutablePointer<Float>, variant: KernelVariant?) {
        let dim = config.hiddenSize
        precondition(token >= 0 && Int(token) < config.vocabularySize, "token id \(token) outside the vocabulary")
        let word = wordEmbeddings + 4 * Int(token) * dim
        for j in 0..<dim {
            x[j] = (word.loadUnaligned(fromByteOffset: 4 * j, as: Float.self) + tokenTypeEmbedding[j])
                + positionEmbeddings[position * dim + j]
        }
        layerNorm(x, weight: embeddingNorm.weight, bias: embeddingNorm.bias, count: dim,
                  epsilon: config.normEpsilon, into: x, variant: variant)
    }

    /// Rows of tokens per chunk of the token-wise steps (embedding, norms, GELU).
    static let chunkRows = 16

    static func chunks(_ count: Int) -> Int { (count + chunkRows - 1) / chunkRows }

    static func rows(of chunk: Int, count: Int) -> Range<Int> {
        chunk * chunkRows..<min(count, (chunk + 1) * chunkRows)
    }

    /// out = input · matrixᵀ + bias for `count` rows. One chunk of work is one panel of 16
    /// outputs over one block of rows; blocks first, so the threads share a block while it
    /// is in cache.
    func multiply(_ matrix: PackedMatrix, input: UnsafeMutablePointer<Float>, count: Int,
                  into out: UnsafeMutablePointer<Float>, parallel: Parallel, variant: KernelVariant?) {
        let panels = matrix.rows / PackedMatrix.panelRows, block = PackedMatrix.blockRows
        let blocks = (count + block - 1) / block
        parallel.forEachChunk(blocks * panels) { _, chunk in
            let first = chunk / panels * block, panel = chunk % panels * PackedMatrix.panelRows
            matrix.multiply(rows: panel..<panel + PackedMatrix.panelRows, x: input + first * matrix.columns,
                            xStride: matrix.columns, count: min(block, count - first),
                            out: out + first * matrix.rows, outStride: matrix.rows, variant: variant)
        }
    }

    /// x = LayerNorm(x + residual), row by row.
    func addAndNormalize(_ residual: UnsafeMutablePointer<Float>, into x: UnsafeMutablePointer<Float>, norm: Norm,
                         count: Int, parallel: Parallel, variant: KernelVariant?) {
        let dim = config.hiddenSize
        parallel.forEachChunk(Self.chunks(count)) { _, chunk in
            for i in Self.rows(of: chunk, count: count) {
                let row = x + i * dim, add = residual + i * dim
                for j in 0..<dim { row[j] += add[j] }
                layerNorm(row, weight: norm.weight, bias: norm.bias, count: dim, epsilon: config.normEpsilon, into: row,
                          variant: variant)
            }
        }
    }

    /// Scaled dot-product attention for every (sequence, head, query), each over all the
    /// tokens of its own sequence; one chunk of work per sequence.
    func attend(starts: [Int], lengths: [Int], workspace w: BertWorkspace, parallel: Parallel, variant: KernelVariant?) {
        let c = config
        let dim = c.hiddenSize, headDim = c.headDimension, stride = 3 * dim
        let scale = 1 / Float(headDim).squareRoot()
        parallel.forEachChunk(starts.count) { worker, s in
            let rows = w.queryKeyValue + starts[s] * stride
            for h in 0..<c.headCount {
                attendHead(q: rows + h * headDim, k: rows + dim + h * headDim, v: rows + 2 * dim + h * headDim,
                           stride: stride, count: lengths[s], dimensions: headDim, scale: scale,
                           scratch: w.scratch + worker * w.scratchStride,
                           into: w.context + starts[s] * dim + h * headDim, outStride: dim, variant: variant)
            }
        }
    }

    /// The mean of `count` rows, divided by its Euclidean norm (sentence-transformers'
    /// Pooling then Normalize), summed in Double.
    func meanPooledUnitVector(_ rows: UnsafeMutablePointer<Float>, count: Int) -> [Float] {
        let dim = config.hiddenSize
        var mean = [Double](repeating: 0, count: dim)
        for t in 0..<count {
            for j in 0..<dim { mean[j] += Double(rows[t * dim + j]) }
        }
        for j in 0..<dim { mean[j] /= Double(count) }
        let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return mean.map { Float($0 / norm) }
    }
}

/// One sentence's embedding.
public struct SentenceEmbedding: Sendable {
    /// Unit length: the dot product of two embeddings is their cosine similarity.
    public var vector: [Float]
    /// Whether the text was longer than the model reads (256 tokens) and its end was dropped.
    public var truncated: Bool
    /// Tokens the model read, [CLS] and [SEP] included.
    public var tokenCount: Int

    public init(vector: [Float], truncated: Bool, tokenCount: Int) {
        self.vector = vector
        self.truncated = truncated
        self.tokenCount = tokenCount
    }
}

/// Sentence embeddings with all-MiniLM-L6-v2: a text's tokens through the BERT encoder,
/// mean-pooled and L2-normalised, so that texts can be compared by cosine similarity.
/// Safe to share: calls are serialised (each already uses every thread it was given).
///
/// Texts are grouped into forward batches of up to 512 tokens. With a batch or two, the
/// threads share each batch's products; with many, each thread runs whole batches on its
/// own, so the threads never wait for one another inside a forward pass (about 50 joins per
/// batch otherwise, and each costs a scheduler wake-up when the machine is busy).
public final class SentenceEncoder: @unchecked Sendable {
    public static let modelName = "all-MiniLM-L6-v2"
    /// Tokens per forward batch: enough to keep the kernels' token blocks full, small enough
    /// that a workspace stays under 8 MB.
    static let batchTokens = 512

    public let tokenizer: WordPieceTokenizer
    public let threads: Int
    let model: BertModel
    private let parallel: Parallel
    private let lock = NSLock()
    /// One per thread, made when first needed.
    private var workspaces: [BertWorkspace] = []

    /// Maps the model, packs its matrices and reads the vocabulary. `threads` ≥ 1; the
    /// results do not depend on it.
    public init(modelPath: String, vocabularyPath: String, threads: Int) throws {
        model = try BertModel(file: SafetensorsFile(path: modelPath))
        tokenizer = try WordPieceTokenizer(vocabularyPath: vocabularyPath,
                                           maximumLength: min(WordPieceTokenizer.defaultMaximumLength, model.config.maximumPositions))
        guard tokenizer.vocabularySize <= model.config.vocabularySize else {
            throw WordPieceError(path: vocabularyPath, message: "\(tokenizer.vocabularySize) tokens, but \(modelPath) embeds only \(model.config.vocabularySize)")
        }
        self.threads = max(1, threads)
        parallel = Parallel(threads: self.threads)
    }

    /// The encoder over the store's all-MiniLM-L6-v2 files; a missing file is a
    /// `ModelStoreError.missing` naming `pluralism models fetch`.
    public static func load(store: ModelStore, threads: Int) throws -> SentenceEncoder {
        try SentenceEncoder(modelPath: store.locate(ModelStore.sentenceModel),
                            vocabularyPath: store.locate(ModelStore.sentenceVocabulary), threads: threads)
    }

    /// Names the weights: the pinned sha256 of the model file (not re-hashed on load; `models
    /// verify` checks the file).
    public var fingerprint: String { Self.modelName + "@" + ModelStore.sentenceModel.sha256 }

    public var dimension: Int { model.config.hiddenSize }

    public var config: BertConfig { model.config }

    /// One embedding per text, in order. Texts longer than 256 tokens are cut (and say so).
    public func embed(_ texts: [String]) -> [SentenceEmbedding] {
        lock.lock()
        defer { lock.unlock() }
        var encodings = [WordPieceTokenizer.Encoding](repeating: .init(ids: [], truncated: false), count: texts.count)
        encodings.withUnsafeMutableBufferPointer { out in
            parallel.forEachChunk(BertModel.chunks(texts.count)) { _, chunk in
                for i in BertModel.rows(of: chunk, count: texts.count) { out[i] = tokenizer.encode(texts[i]) }
            }
        }
        let batches = Self.batches(encodings.map(\.ids.count), capacity: Self.batchTokens)
        var vectors = [[Float]](repeating: [], count: texts.count)
        let sharing = batches.count < 2 * threads
        while workspaces.count < (sharing ? 1 : threads) {
            workspaces.append(BertWorkspace(config: model.config, capacity: Self.batchTokens, threads: threads))
        }
        vectors.withUnsafeMutableBufferPointer { out in
            func run(_ batch: Range<Int>, workspace: BertWorkspace, parallel: Parallel) {
                let embedded = model.embed(encodings[batch].map(\.ids), workspace: workspace, parallel: parallel)
                for (i, vector) in zip(batch, embedded) { out[i] = vector }
            }
            if sharing {
                for batch in batches { run(batch, workspace: workspaces[0], parallel: parallel) }
            } else {
                let single = Parallel(threads: 1)
                parallel.forEachChunk(batches.count) { worker, b in run(batches[b], workspace: workspaces[worker], parallel: single) }
            }
        }
        return zip(vectors, encodings).map { SentenceEmbedding(vector: $0, truncated: $1.truncated, tokenCount: $1.ids.count) }
    }

    /// Consecutive texts packed greedily into batches of at most `capacity` tokens.
    static func batches(_ lengths: [Int], capacity: Int) -> [Range<Int>] {
        var batches: [Range<Int>] = []
        var first = 0
        while first < lengths.count {
            var end = first, tokens = 0
            while end < lengths.count, tokens + lengths[end] <= capacity {
                tokens += lengths[end]
                end += 1
            }
            batches.append(first..<end)
            first = end
        }
        return batches
    }
}
