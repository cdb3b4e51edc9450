// The engine: a model file, its tokenizer, and batched generation over several requests.
//
// All requests of one `generate` call advance together: their prompts are prefilled in
// shared batches, then every decoding step feeds one token per live sequence through the
// model at once, so each weight block is unpacked once per step for all of them. Finished
// sequences drop out of the batch. Because every kernel computes each output the same way
// whatever the batch (see Kernels.swift), a request gets the same tokens alone or batched.
import Foundation

/// One request to generate a continuation of token ids.
public struct GenerationRequest: Sendable {
    public var promptIDs: [Int32]
    public var maxTokens: Int
    /// 0 = greedy.
    public var temperature: Float
    /// 0 = off.
    public var topK: Int
    /// 1 = off.
    public var topP: Float
    public var seed: UInt64
    /// Alternatives reported per step (0 = none).
    public var topLogprobs: Int

    public init(promptIDs: [Int32], maxTokens: Int, temperature: Float, topK: Int = 0, topP: Float = 1,
                seed: UInt64 = 0, topLogprobs: Int = 0) {
        self.promptIDs = promptIDs
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.topLogprobs = topLogprobs
    }
}

/// One generated token, its log-probability, and the best alternatives at that step.
public struct GenerationStep: Sendable {
    public var id: Int32
    public var logprob: Float
    /// Best first (ties by lower id); `topLogprobs` entries.
    public var top: [(id: Int32, logprob: Float)]

    public init(id: Int32, logprob: Float, top: [(id: Int32, logprob: Float)]) {
        self.id = id
        self.logprob = logprob
        self.top = top
    }
}

/// The result of one request: the generated ids and steps, and the text they decode to.
public struct Generation: Sendable {
    public enum FinishReason: String, Sendable { case stop, length }
    public var promptIDs: [Int32]
    /// Generated ids, including the stop token when the model stopped.
    public var ids: [Int32]
    public var steps: [GenerationStep]
    /// The generated text, without the stop token.
    public var text: String
    public var finishReason: FinishReason
}

/// Why a generation was refused before any work was done.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case contextOverflow(promptLength: Int, contextLength: Int)
    case emptyPrompt(request: Int)
    case invalidToken(request: Int, id: Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case .contextOverflow(let promptLength, let contextLength):
            return "the prompt has \(promptLength) tokens but the model's context holds \(contextLength); shorten the prompt"
        case .emptyPrompt(let request):
            return "request \(request) has an empty prompt (at least one token is needed to predict the next)"
        case .invalidToken(let request, let id, let vocabularySize):
            return "request \(request): token id \(id) is outside the vocabulary (0..<\(vocabularySize))"
        }
    }
}

/// A loaded model ready to generate: the mapped GGUF file, its tokenizer, scratch buffers.
/// Safe to share between threads; generations run one at a time (each uses every thread
/// the engine was given), so callers batch requests rather than calling in parallel.
public final class Engine: @unchecked Sendable {
    /// The version of the engine's arithmetic. Bump it with any change to the kernels, the
    /// forward pass or the sampler that can change a generated token or log-probability: it
    /// is part of the embedded model's archive identity, so answers archived by an older
    /// engine are never replayed as if this one had produced them.
    public static let numericsVersion = 1

    public let tokenizer: Tokenizer
    public let config: LlamaConfig
    public let modelPath: String
    public let threads: Int
    let model: LlamaModel
    private let parallel: Parallel
    /// Tokens per forward batch: prompt prefill chunks, and at most this many sequences
    /// decoded in one step.
    static let batchCapacity = 64
    private let workspace: Workspace
    private let logits: UnsafeMutablePointer<Float>
    /// One generation at a time: the scratch buffers are shared.
    private let lock = NSLock()

    /// Opens and maps the model; `threads` nil uses every core.
    public init(modelPath: String, threads: Int? = nil) throws {
        let file = try GGUFFile(path: modelPath)
        model = try LlamaModel(file: file)
        tokenizer = try Tokenizer(gguf: file)
        config = model.config
        self.modelPath = modelPath
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        parallel = Parallel(threads: self.threads)
        workspace = Workspace(config: config, capacity: Self.batchCapacity, threads: self.threads)
        logits = .allocate(capacity: Self.batchCapacity * config.vocabularySize)
    }

    deinit {
        logits.deallocate()
    }

    public var contextLength: Int { config.contextLength }

    /// Decodes all requests as one batch (each weight row read once per step for all live
    /// sequences). Outputs are bit-identical whatever the batch composition and thread count.
    /// Stops on <|im_end|> / <|endoftext|> (the stop token is included as the last step, and
    /// not in `text`) or maxTokens; a sequence that fills the context ends with `.length`.
    /// Throws EngineError.contextOverflow when a prompt does not fit the context.
    /// `onStep(request, step)` sees each step as it is chosen (for streaming).
    public func generate(_ requests: [GenerationRequest],
                         onStep: ((Int, GenerationStep) -> Void)? = nil) throws -> [Generation] {
        try generate(requests, stopsAtEndTokens: true, onStep: onStep)
    }

    /// `stopsAtEndTokens` false generates through stop tokens (the benchmark needs runs of
    /// a fixed length).
    func generate(_ requests: [GenerationRequest], stopsAtEndTokens: Bool,
                  onStep: ((Int, GenerationStep) -> Void)?) throws -> [Generation] {
        let vocabulary = config.vocabularySize
        for (r, request) in requests.enumerated() {
            guard !request.promptIDs.isEmpty else { throw EngineError.emptyPrompt(request: r) }
            guard request.promptIDs.count <= contextLength else {
                throw EngineError.contextOverflow(promptLength: request.promptIDs.count, contextLength: contextLength)
            }
            if let bad = request.promptIDs.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                throw EngineError.invalidToken(request: r, id: bad, vocabularySize: vocabulary)
            }
        }
        lock.lock()
        defer { lock.unlock() }

        var sequences = requests.map { LiveSequence(request: $0, config: config) }
        let live = sequences.indices.filter { requests[$0].maxTokens > 0 }

        // Prefill: all prompts, cut into batches; the last prompt token of each sequence
        // yields its first generated token.
        var pending: [(sequence: Int, entry: BatchEntry)] = []
        for s in live {
            let prompt = requests[s].promptIDs
            for (position, token) in prompt.enumerated() {
                pending.append((s, BatchEntry(cache: sequences[s].cache, position: position, token: token,
                                              wantsLogits: position == prompt.count - 1)))
            }
        }
        for start in stride(from: 0, to: pending.count, by: Self.batchCapacity) {
            let chunk = pending[start..<min(pending.count, start + Self.batchCapacity)]
            model.forward(chunk.map(\.entry), workspace: workspace, parallel: parallel, logits: logits)
            let finishing = chunk.filter { $0.entry.wantsLogits }.map(\.sequence)
            choose(&sequences, finishing, logits: logits, stopsAtEndTokens: stopsAtEndTokens, onStep: onStep)
        }

        // Decode: one token per live sequence per step.
        while true {
            let active = live.filter { sequences[$0].finish == nil }
            if active.isEmpty { break }
            for start in stride(from: 0, to: active.count, by: Self.batchCapacity) {
                let group = active[start..<min(active.count, start + Self.batchCapacity)]
                let batch = group.map { s in
                    BatchEntry(cache: sequences[s].cache, position: sequences[s].cache.length,
                               token: sequences[s].ids.last!, wantsLogits: true)
                }
                model.forward(batch, workspace: workspace, parallel: parallel, logits: logits)
                choose(&sequences, Array(group), logits: logits, stopsAtEndTokens: stopsAtEndTokens, onStep: onStep)
            }
        }

        return sequences.map { sequence in
            var textIDs = sequence.ids
            if sequence.finish == .stop { textIDs.removeLast() }
            return Generation(promptIDs: sequence.request.promptIDs, ids: sequence.ids, steps: sequence.steps,
                              text: tokenizer.decode(textIDs), finishReason: sequence.finish ?? .length)
        }
    }

    /// The state of one request while it is generated.
    private struct LiveSequence {
        var request: GenerationRequest
        var cache: KVCache
        var sampler: Sampler
        var ids: [Int32] = []
        var steps: [GenerationStep] = []
        var finish: Generation.FinishReason?

        init(request: GenerationRequest, config: LlamaConfig) {
            self.request = request
            cache = KVCache(config: config)
            sampler = Sampler(temperature: request.temperature, topK: request.topK, topP: request.topP,
                              seed: request.seed)
        }
    }

    /// Samples the next token of each sequence in `indices` from its row of `logits` (row i
    /// for indices[i]), records the steps, and decides which sequences are finished. The
    /// sequences are sampled in parallel (each has its own sampler and writes only its own
    /// slot); steps are then recorded and reported in order.
    private func choose(_ sequences: inout [LiveSequence], _ indices: [Int], logits: UnsafeMutablePointer<Float>,
                        stopsAtEndTokens: Bool, onStep: ((Int, GenerationStep) -> Void)?) {
        let vocabulary = config.vocabularySize
        var steps = [GenerationStep](repeating: GenerationStep(id: 0, logprob: 0, top: []), count: indices.count)
        sequences.withUnsafeMutableBufferPointer { sequences in
            steps.withUnsafeMutableBufferPointer { steps in
                parallel.forEachRange(indices.count) { _, rows in
                    for row in rows {
                        let s = indices[row]
                        let buffer = UnsafeBufferPointer(start: logits + row * vocabulary, count: vocabulary)
                        let logprobs = Logprobs.logSoftmax(buffer)
                        let id = sequences[s].sampler.sample(logits: buffer)
                        steps[row] = GenerationStep(id: id, logprob: logprobs[Int(id)],
                                                    top: Logprobs.top(logprobs, k: sequences[s].request.topLogprobs))
                    }
                }
            }
        }
        for (row, s) in indices.enumerated() {
            let step = steps[row]
            sequences[s].ids.append(step.id)
            sequences[s].steps.append(step)
            onStep?(s, step)
            if stopsAtEndTokens && (step.id == tokenizer.endOfTurnID || step.id == tokenizer.endOfTextID) {
                sequences[s].finish = .stop
            } else if sequences[s].ids.count >= sequences[s].request.maxTokens
                        || sequences[s].cache.length >= contextLength {
                sequences[s].finish = .length
            }
        }
    }
}
