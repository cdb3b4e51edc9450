import Foundation
import Testing
@testable import Inference

/// The cached all-MiniLM-L6-v2 files; the tests that need them skip, naming the fetch command.
enum MiniLM {
    static var present: Bool {
        let store = ModelStore()
        return (try? store.locate(ModelStore.sentenceModel)) != nil && (try? store.locate(ModelStore.sentenceVocabulary)) != nil
    }
    /// Whether the tests that need the files run: when cached, and always under CI=true
    /// (there a missing file fails them instead of skipping).
    static var enabled: Bool { present || RealModel.inCI }
    static let skipReason: Comment =
        "needs all-MiniLM-L6-v2 (model and vocabulary): run `pluralism models fetch` (with CI=true this test fails instead of skipping)"

    static func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabularyPath: ModelStore().locate(ModelStore.sentenceVocabulary))
    }

    static func encoder(threads: Int) throws -> SentenceEncoder {
        try SentenceEncoder.load(store: ModelStore(), threads: threads)
    }
}

/// An independent numpy implementation's token ids, embeddings and cosines for six
/// sentences (copied from shared/reference/minilm-reference.json).
struct MiniLMReference: Decodable {
    struct Sentence: Decodable {
        var text: String
        var ids: [Int32]
        var embedding: [Float]
    }
    var sentences: [Sentence]
    var cosine: [[Double]]

    static func load() throws -> MiniLMReference {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/minilm-reference.json")
        return try JSONDecoder().decode(MiniLMReference.self, from: Data(contentsOf: url))
    }
}

func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

@Suite struct ParallelChunkTests {
    /// Every chunk runs exactly once, on a worker index below the thread count.
    @Test func everyChunkRunsOnce() {
        for (threads, count) in [(1, 10), (2, 0), (2, 1), (2, 57), (3, 200), (8, 5)] {
            let runs = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
            runs.initialize(repeating: 0, count: max(1, count))
            let workers = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
            defer { runs.deallocate(); workers.deallocate() }
            Parallel(threads: threads).forEachChunk(count) { worker, chunk in
                runs[chunk] += 1
                workers[chunk] = worker
            }
            #expect((0..<count).allSatisfy { runs[$0] == 1 }, "\(threads) threads, \(count) chunks")
            #expect((0..<count).allSatisfy { workers[$0] >= 0 && workers[$0] < threads })
        }
    }
}

@Suite struct DenseKernelTests {
    static func random(_ count: Int, _ rng: inout SeededRandom, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float(rng.nextUnitDouble() * 2 - 1) * scale }
    }

    @Test func packedProductMatchesTheReference() throws {
        var rng = SeededRandom(seed: 11)
        for (rows, columns) in [(16, 8), (48, 40), (32, 384)] {
            let weights = (0..<rows).map { _ in Self.random(columns, &rng) }
            let bias = Self.random(rows, &rng)
            let matrix = PackedMatrix(weights: weights, bias: bias)
            for r in 0..<rows {
                for k in 0..<columns where matrix.weight(row: r, column: k) != weights[r][k] {
                    Issue.record("packing moved weight (\(r), \(k))")
                }
            }
            for count in [1, 2, 3, 4, 5, 6, 7, 13, 97, 100] {
                let x = (0..<count).map { _ in Self.random(columns, &rng) }
                let fast = product(matrix, x, parts: [0..<rows])
                let expected = matrix.referenceMultiply(x)
                for v in 0..<count {
                    for r in 0..<rows {
                        let magnitude = Double(abs(bias[r])) + (0..<columns).reduce(0.0) { $0 + Double(abs(weights[r][$1] * x[v][$1])) }
                        #expect(Double(abs(fast[v][r] - expected[v][r])) <= 1e-6 * magnitude + 1e-7,
                                "\(rows)×\(columns), \(count) vectors: [\(v)][\(r)] \(fast[v][r]) vs \(expected[v][r])")
                    }
                }
            }
        }
    }

    /// A vector's outputs do not depend on the other vectors in the block, on the tile it
    /// falls in, or on how the rows are split between threads.
    @Test func packedProductIsBitIdenticalWhateverTheBatchAndTheRowSplit() throws {
        var rng = SeededRandom(seed: 12)
        let rows = 64, columns = 96
        let matrix = PackedMatrix(weights: (0..<rows).map { _ in Self.random(columns, &rng) }, bias: Self.random(rows, &rng))
        let x = (0..<101).map { _ in Self.random(columns, &rng) }
        let whole = product(matrix, x, parts: [0..<rows])
        let split = product(matrix, x, parts: [0..<16, 16..<48, 48..<64])
        #expect(whole == split)
        for v in [0, 5, 6, 95, 96, 100] {
            #expect(product(matrix, [x[v]], parts: [0..<rows])[0] == whole[v])
        }
        #expect(product(matrix, Array(x[3..<10]), parts: [0..<rows]) == Array(whole[3..<10]))
    }

    func product(_ matrix: PackedMatrix, _ x: [[Float]], parts: [Range<Int>]) -> [[Float]] {
        let flat = x.flatMap { $0 }
        var out = [Float](repeating: .nan, count: x.count * matrix.rows)
        flat.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { out in
                for part in parts {
                    matrix.multiply(rows: part, x: input.baseAddress!, xStride: matrix.columns, count: x.count,
                                    out: out.baseAddress!, outStride: matrix.rows)
                }
            }
        }
        return (0..<x.count).map { Array(out[$0 * matrix.rows..<($0 + 1) * matrix.rows]) }
    }

    @Test func attentionMatchesTheReference() throws {
        var rng = SeededRandom(seed: 14)
        for (count, dimensions) in [(1, 32), (2, 8), (7, 32), (33, 32), (64, 16), (70, 40), (256, 32)] {
            let stride = 3 * dimensions + 5
            let rows = (0..<count).map { _ in Self.random(stride, &rng, scale: 2) }
            func part(_ offset: Int) -> [[Float]] { rows.map { Array($0[offset..<offset + dimensions]) } }
            let scale = 1 / Float(dimensions).squareRoot()
            let expected = referenceAttention(q: part(0), k: part(dimensions), v: part(2 * dimensions), scale: scale)
            let flat = rows.flatMap { $0 }
            var out = [Float](repeating: .nan, count: count * dimensions)
            var scratch = [Float](repeating: .nan, count: attentionScratch(count: count, dimensions: dimensions))
            flat.withUnsafeBufferPointer { p in
                let base = p.baseAddress!
                attendHead(q: base, k: base + dimensions, v: base + 2 * dimensions, stride: stride, count: count,
                           dimensions: dimensions, scale: scale, scratch: &scratch, into: &out, outStride: dimensions)
            }
            var worst: Float = 0
            for i in 0..<count {
                for d in 0..<dimensions { worst = max(worst, abs(out[i * dimensions + d] - expected[i][d])) }
            }
            #expect(worst < 2e-6, "\(count) tokens × \(dimensions): max error \(worst)")
        }
    }

    @Test func layerNormMatchesTheReference() throws {
        var rng = SeededRandom(seed: 13)
        for (offset, spread) in [(Float(0), Float(1)), (3, 0.5), (-2, 4)] {
            let x = Self.random(384, &rng, scale: spread).map { $0 + offset }
            let weight = Self.random(384, &rng).map { $0 + 1 }
            let bias = Self.random(384, &rng, scale: 0.1)
            var out = [Float](repeating: 0, count: 384)
            layerNorm(x, weight: weight, bias: bias, count: 384, epsilon: 1e-12, into: &out)
            let expected = referenceLayerNorm(x, weight: weight, bias: bias, epsilon: 1e-12)
            let error = zip(out, expected).map { abs($0 - $1) }.max()!
            #expect(error < 2e-5, "offset \(offset), spread \(spread): max error \(error)")
        }
        // In place, as the encoder calls it.
        var x = Self.random(384, &rng)
        let expected = referenceLayerNorm(x, weight: Array(repeating: 1, count: 384), bias: Array(repeating: 0, count: 384), epsilon: 1e-12)
        x.withUnsafeMutableBufferPointer { p in
            layerNorm(p.baseAddress!, weight: Array(repeating: 1, count: 384), bias: Array(repeating: 0, count: 384),
                      count: 384, epsilon: 1e-12, into: p.baseAddress!)
        }
        #expect(zip(x, expected).allSatisfy { abs($0 - $1) < 2e-5 })
    }

    /// The erf form, not the tanh approximation (which is off by up to 5e-4 near |x| = 2).
    @Test func geluMatchesTheErfForm() throws {
        var x = (0..<24_000).map { Float($0 - 12_000) / 1000 }
        let expected = x.map(referenceGELU)
        gelu(&x, count: x.count)
        var worst: Float = 0
        for i in x.indices {
            let input = Float(i - 12_000) / 1000
            worst = max(worst, abs(x[i] - expected[i]) / max(1, abs(input)))
        }
        #expect(worst < 3e-7, "max error \(worst)")
        var edges: [Float] = [0, 20, -20, 1e-6, -1e-6, 0, 0, 0]
        gelu(&edges, count: 8)
        #expect(edges[0] == 0 && edges[1] == 20 && abs(edges[2]) < 1e-30)
        #expect(abs(edges[3] - 0.5e-6) < 1e-12 && abs(edges[4] + 0.5e-6) < 1e-12)
    }
}

/// A small random BERT (2 layers, hidden 32, 4 heads) written as a safetensors file, and a
/// plain Double forward pass over the same weights: the encoder is checked end to end
/// without the real model.
struct TinyBert {
    struct Linear {
        var weight: [[Float]]
        var bias: [Float]
        func callAsFunction(_ x: [Double]) -> [Double] {
            zip(weight, bias).map { row, b in zip(row, x).reduce(Double(b)) { $0 + Double($1.0) * $1.1 } }
        }
    }
    struct Norm {
        var weight: [Float]
        var bias: [Float]
        func callAsFunction(_ x: [Double]) -> [Double] {
            let mean = x.reduce(0, +) / Double(x.count)
            let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
            return x.indices.map { (x[$0] - mean) / (variance + 1e-12).squareRoot() * Double(weight[$0]) + Double(bias[$0]) }
        }
    }
    struct Layer {
        var query, key, value, attentionOutput, intermediate, output: Linear
        var attentionNorm, outputNorm: Norm
    }

    static let hidden = 32, heads = 4, intermediateSize = 64, vocabulary = 24, positions = 20
    var words, positionRows, types: [[Float]]
    var embeddingNorm: Norm
    var layers: [Layer]

    init(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        func rows(_ n: Int, _ m: Int, scale: Float) -> [[Float]] { (0..<n).map { _ in DenseKernelTests.random(m, &rng, scale: scale) } }
        func linear(_ out: Int, _ input: Int) -> Linear {
            Linear(weight: rows(out, input, scale: 1.7 / Float(input).squareRoot()), bias: DenseKernelTests.random(out, &rng, scale: 0.1))
        }
        func norm() -> Norm {
            Norm(weight: DenseKernelTests.random(Self.hidden, &rng, scale: 0.3).map { $0 + 1 },
                 bias: DenseKernelTests.random(Self.hidden, &rng, scale: 0.1))
        }
        let h = Self.hidden
        words = rows(Self.vocabulary, h, scale: 1)
        positionRows = rows(Self.positions, h, scale: 0.5)
        types = rows(2, h, scale: 0.5)
        embeddingNorm = norm()
        layers = (0..<2).map { _ in
            Layer(query: linear(h, h), key: linear(h, h), value: linear(h, h), attentionOutput: linear(h, h),
                  intermediate: linear(Self.intermediateSize, h), output: linear(h, Self.intermediateSize),
                  attentionNorm: norm(), outputNorm: norm())
        }
    }

    /// The file, with the tensor names of a Hugging Face BertModel export.
    func file() -> [UInt8] {
        var b = SafetensorsBuilder()
        func add(_ name: String, _ rows: [[Float]]) { b.add(name, shape: [rows.count, rows[0].count], floats: rows.flatMap { $0 }) }
        func add(_ name: String, _ linear: Linear) {
            add(name + ".weight", linear.weight)
            b.add(name + ".bias", shape: [linear.bias.count], floats: linear.bias)
        }
        func add(_ name: String, _ norm: Norm) {
            b.add(name + ".weight", shape: [Self.hidden], floats: norm.weight)
            b.add(name + ".bias", shape: [Self.hidden], floats: norm.bias)
        }
        b.add("embeddings.position_ids", shape: [1, Self.positions], int64s: (0..<Int64(Self.positions)).map { $0 })
        add("embeddings.word_embeddings.weight", words)
        add("embeddings.position_embeddings.weight", positionRows)
        add("embeddings.token_type_embeddings.weight", types)
        add("embeddings.LayerNorm", embeddingNorm)
        for (l, layer) in layers.enumerated() {
            let p = "encoder.layer.\(l)."
            add(p + "attention.self.query", layer.query)
            add(p + "attention.self.key", layer.key)
            add(p + "attention.self.value", layer.value)
            add(p + "attention.output.dense", layer.attentionOutput)
            add(p + "attention.output.LayerNorm", layer.attentionNorm)
            add(p + "intermediate.dense", layer.intermediate)
            add(p + "output.dense", layer.output)
            add(p + "output.LayerNorm", layer.outputNorm)
        }
        return b.bytes()
    }

    /// The textbook forward pass in Double, mean pooling over all tokens, L2-normalised.
    func embedding(_ ids: [Int32]) -> [Double] {
        let h = Self.hidden, d = h / Self.heads
        var x = ids.enumerated().map { t, id in
            embeddingNorm((0..<h).map { Double(words[Int(id)][$0]) + Double(types[0][$0]) + Double(positionRows[t][$0]) })
        }
        for layer in layers {
            let q = x.map { layer.query($0) }, k = x.map { layer.key($0) }, v = x.map { layer.value($0) }
            let context = x.indices.map { i in
                (0..<Self.heads).flatMap { head in
                    let range = head * d..<(head + 1) * d
                    let scores = x.indices.map { j in range.reduce(0.0) { $0 + q[i][$1] * k[j][$1] } / Double(d).squareRoot() }
                    let top = scores.max()!
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    return range.map { c in x.indices.reduce(0.0) { $0 + weights[$1] / total * v[$1][c] } }
                }
            }
            x = x.indices.map { i in layer.attentionNorm(zip(x[i], layer.attentionOutput(context[i])).map(+)) }
            x = x.map { row in
                let inner = layer.intermediate(row).map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
                return layer.outputNorm(zip(row, layer.output(inner)).map(+))
            }
        }
        let mean = (0..<h).map { c in x.reduce(0.0) { $0 + $1[c] } / Double(x.count) }
        let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return mean.map { $0 / norm }
    }
}

@Suite struct BertTests {
    @Test func tinyModelMatchesATextbookForwardPass() throws {
        let tiny = TinyBert(seed: 21)
        try withTemporaryFile(tiny.file()) { path in
            let model = try BertModel(file: SafetensorsFile(path: path), headCount: TinyBert.heads)
            #expect(model.config == BertConfig(hiddenSize: 32, layerCount: 2, headCount: 4, intermediateSize: 64,
                                               maximumPositions: 20, vocabularySize: 24, normEpsilon: 1e-12))
            let sequences: [[Int32]] = [[1, 5, 7, 2], [1, 2], [1, 23, 0, 9, 9, 9, 17, 4, 11, 2], (0..<20).map { Int32($0 % 24) }]
            let workspace = BertWorkspace(config: model.config, capacity: 64, threads: 2)
            let together = model.embed(sequences, workspace: workspace, parallel: Parallel(threads: 2))
            var worst = 0.0
            for (sequence, vector) in zip(sequences, together) {
                let expected = tiny.embedding(sequence)
                worst = max(worst, zip(vector, expected).map { abs(Double($0) - $1) }.max()!)
                let alone = model.embed([sequence], workspace: workspace, parallel: Parallel(threads: 1))[0]
                #expect(alone == vector, "a sequence's embedding changed with its batch or thread count")
            }
            #expect(worst < 2e-6, "max component error \(worst)")
            print("tiny BERT: max component error \(worst) against the Double forward pass")
        }
    }

    @Test func modelShapesAreChecked() throws {
        var b = SafetensorsBuilder()
        b.add("embeddings.word_embeddings.weight", shape: [4, 20], floats: Array(repeating: 0, count: 80))
        b.add("embeddings.position_embeddings.weight", shape: [4, 20], floats: Array(repeating: 0, count: 80))
        b.add("encoder.layer.0.attention.self.query.weight", shape: [20, 20], floats: Array(repeating: 0, count: 400))
        b.add("encoder.layer.0.intermediate.dense.weight", shape: [32, 20], floats: Array(repeating: 0, count: 640))
        try withTemporaryFile(b.bytes()) { path in
            do {
                _ = try BertModel(file: SafetensorsFile(path: path), headCount: 4)
                Issue.record("a hidden size of 20 must be refused")
            } catch let error as SafetensorsError {
                #expect(error.description.contains("does not fit the kernels"))
            }
        }
        _ = try withTemporaryFile(SafetensorsBuilder.small().bytes()) { path in
            #expect(throws: SafetensorsError.missingTensor(path: path, name: "embeddings.word_embeddings.weight")) {
                try BertModel(file: SafetensorsFile(path: path))
            }
        }
    }

    @Test func loadingFromAnEmptyStoreNamesTheFetchCommand() throws {
        let folder = try ModelStoreTests.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            _ = try SentenceEncoder.load(store: ModelStore(directory: folder), threads: 1)
            Issue.record("loading from an empty folder must fail")
        } catch let error as ModelStoreError {
            #expect(error.description.contains("pluralism models fetch"))
            #expect(error.description.contains(ModelStore.sentenceModel.fileName))
        }
    }

    @Test func theSentenceModelIsPinned() {
        #expect(ModelStore.sentenceModel.sha256 == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
        #expect(ModelStore.sentenceVocabulary.sha256 == "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3")
        #expect(ModelStore.sentenceModel.pipPackage == ModelStore.sentenceVocabulary.pipPackage)
        #expect(ModelStore.allEntries.count == Set(ModelStore.allEntries.map(\.fileName)).count)
    }

    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func embeddingsMatchTheReference() throws {
        let encoder = try MiniLM.encoder(threads: 2)
        #expect(encoder.dimension == 384)
        #expect(encoder.fingerprint == "all-MiniLM-L6-v2@53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
        #expect(encoder.config == BertConfig(hiddenSize: 384, layerCount: 6, headCount: 12, intermediateSize: 1536,
                                             maximumPositions: 512, vocabularySize: 30522, normEpsilon: 1e-12))
        let reference = try MiniLMReference.load()
        let embeddings = encoder.embed(reference.sentences.map(\.text))
        var worstCosine = 0.0, worstComponent: Float = 0
        for (i, a) in embeddings.enumerated() {
            #expect(a.tokenCount == reference.sentences[i].ids.count && !a.truncated)
            #expect(abs(dot(a.vector, a.vector) - 1) < 1e-5)
            worstComponent = max(worstComponent, zip(a.vector, reference.sentences[i].embedding).map { abs($0 - $1) }.max()!)
            for (j, b) in embeddings.enumerated() {
                let error = abs(dot(a.vector, b.vector) - reference.cosine[i][j])
                worstCosine = max(worstCosine, error)
                #expect(error < 0.005, "cosine [\(i)][\(j)]")
            }
        }
        #expect(worstComponent < 1e-3)
        print("minilm: max cosine error \(worstCosine), max component error \(worstComponent) against the reference")
    }

    /// The sentence-transformers quick-start example for this model.
    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func publishedExample() throws {
        let encoder = try MiniLM.encoder(threads: 2)
        let e = encoder.embed(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]).map(\.vector)
        let cosines = [dot(e[0], e[1]), dot(e[0], e[2]), dot(e[1], e[2])]
        for (found, published) in zip(cosines, [0.6660, 0.1046, 0.1411]) {
            #expect(abs(found - published) < 0.001, "\(found) vs \(published)")
        }
        print("minilm: published example cosines \(cosines)")
    }

    /// Results are bit-identical alone or in a batch, whether the threads share each forward
    /// batch or run batches of their own, and whatever the thread count.
    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func embeddingsDoNotDependOnBatchingOrThreads() throws {
        let reference = try MiniLMReference.load()
        let texts = reference.sentences.map(\.text) + EmbeddingBenchmark.sentences(count: 80, seed: 3)
            + [Array(repeating: "Every village shares its water in a drought.", count: 40).joined(separator: " ")]
        let one = try MiniLM.encoder(threads: 1), two = try MiniLM.encoder(threads: 2), three = try MiniLM.encoder(threads: 3)
        let lengths = texts.map { one.tokenizer.encode($0).ids.count }
        let batches = SentenceEncoder.batches(lengths, capacity: SentenceEncoder.batchTokens)
        // Two threads run batches of their own, three share each batch.
        #expect(batches.count >= 4 && batches.count < 6)
        #expect(batches.flatMap { $0 } == Array(texts.indices))
        #expect(batches.allSatisfy { $0.reduce(0) { $0 + lengths[$1] } <= SentenceEncoder.batchTokens })
        let separate = two.embed(texts).map(\.vector)
        #expect(one.embed(texts).map(\.vector) == separate)
        #expect(three.embed(texts.reversed()).map(\.vector) == separate.reversed())
        for i in [0, 7, 20, texts.count - 1] {
            #expect(one.embed([texts[i]])[0].vector == separate[i])
            #expect(two.embed([texts[i], texts[0]])[0].vector == separate[i])
        }
        #expect(two.embed([]).isEmpty)
    }

    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func longTextsAreTruncatedAndSaySo() throws {
        let encoder = try MiniLM.encoder(threads: 2)
        let long = Array(repeating: "Should cities ban cars from their centres?", count: 60).joined(separator: " ")
        let cut = encoder.embed([long, "Should cities ban cars from their centres?"])
        #expect(cut[0].truncated && cut[0].tokenCount == 256)
        #expect(!cut[1].truncated && cut[1].tokenCount == 10)
        #expect(abs(dot(cut[0].vector, cut[0].vector) - 1) < 1e-5)
        // Only the first 256 tokens count: more of the same text changes nothing.
        #expect(encoder.embed([long + " Whatever comes later is not read."])[0].vector == cut[0].vector)
    }
}
