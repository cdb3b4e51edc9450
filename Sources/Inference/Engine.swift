// The engine: a model file, its tokenizer, and generation over many requests at once.
//
// Requests are decoded by continuous batching (ContinuousBatching.swift): every forward pass
// feeds one token of each decoding sequence and the prompt tokens of sequences joining, so
// each weight block is unpacked once per pass for all of them, and a finished sequence's
// place goes to the next request at once. Because every kernel computes each output the
// same way whatever the batch (see Kernels.swift), a request gets the same tokens alone,
// batched with any others, or starting from a reused prompt prefix.
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

/// A loaded model ready to generate: the mapped GGUF file, its tokenizer, scratch buffers,
/// and the prompt prefixes it has computed. Safe to share between threads; generations run
/// one at a time (each uses every thread the engine was given), so callers hand it many
/// requests at once rather than calling in parallel.
public final class Engine: @unchecked Sendable {
    /// The version of the engine's arithmetic. Bump it with any change to the kernels, the
    /// forward pass or the sampler that can change a generated token or log-probability: it
    /// is part of the embedded model's archive identity, so answers archived by an older
    /// engine are never replayed as if this one had produced them.
    public static let numericsVersion = 1

    /// Sequences decoded together by default: each step's pass over the weights serves all
    /// of them (measured with `pluralism bench engine`).
    public static let defaultSequences = 8
    /// Keys and values of the sequences in flight, at most (512 MiB: about 11,600 positions
    /// of SmolLM2-135M).
    public static let defaultKVCacheBytes = 512 << 20
    /// Stored prompt prefixes, at most (256 MiB).
    public static let defaultPrefixCacheBytes = 256 << 20

    public let tokenizer: Tokenizer
    public let config: LlamaConfig
    public let modelPath: String
    public let threads: Int
    /// The most sequences in flight at once.
    public let sequences: Int
    /// The most bytes of keys and values the sequences in flight may hold: a sequence joins
    /// only when its prompt and `maxTokens` fit beside the others (one always runs).
    public let kvCacheBytes: Int
    let model: LlamaModel
    let parallel: Parallel
    /// Tokens per forward batch: decoding sequences and prompt tokens together.
    static let batchCapacity = 64
    let workspace: Workspace
    let logits: UnsafeMutablePointer<Float>
    let prefixes: PrefixCache
    /// One generation at a time: the scratch buffers and the prefix store are shared.
    let lock = NSLock()

    /// Opens and maps the model; `threads` nil uses every core. `sequences` is capped at 64
    /// (one forward batch); `prefixCacheBytes` 0 turns prefix reuse off.
    public init(modelPath: String, threads: Int? = nil, sequences: Int = Engine.defaultSequences,
                kvCacheBytes: Int = Engine.defaultKVCacheBytes,
                prefixCacheBytes: Int = Engine.defaultPrefixCacheBytes) throws {
        let file = try GGUFFile(path: modelPath)
        model = try LlamaModel(file: file)
        tokenizer = try Tokenizer(gguf: file)
        config = model.config
        self.modelPath = modelPath
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.sequences = min(Self.batchCapacity, max(1, sequences))
        self.kvCacheBytes = max(0, kvCacheBytes)
        parallel = Parallel(threads: self.threads)
        workspace = Workspace(config: config, capacity: Self.batchCapacity, threads: self.threads)
        logits = .allocate(capacity: Self.batchCapacity * config.vocabularySize)
        prefixes = PrefixCache(budgetBytes: prefixCacheBytes)
    }

    deinit {
        logits.deallocate()
    }

    public var contextLength: Int { config.contextLength }

    /// The instruction-set variant of the matrix kernels in use (every variant computes the
    /// same bits).
    public var kernelVariant: KernelVariant { KernelVariant.current }

    /// What prefix reuse has saved since the engine was opened (or the tally was reset).
    public var prefixReuse: PrefixReuseTally {
        lock.lock()
        defer { lock.unlock() }
        return prefixes.tally
    }

    /// Forgets the stored prefixes and zeroes the tally (the benchmark compares runs).
    public func resetPrefixCache() {
        lock.lock()
        defer { lock.unlock() }
        prefixes.removeAll()
        prefixes.tally = PrefixReuseTally()
    }

    /// Generates every request and returns the results in order. All of them are in flight
    /// at once (up to 64, then as others finish), within the KV-cache budget. Outputs are
    /// bit-identical whatever the batch composition, the thread count and prefix reuse.
    /// Stops on <|im_end|> / <|endoftext|> (the stop token is included as the last step, and
    /// not in `text`) or maxTokens; a sequence that fills the context ends with `.length`.
    /// Throws an `EngineError` before any work when a request is invalid.
    /// `onStep(request, step)` sees each step as it is chosen (for streaming).
    public func generate(_ requests: [GenerationRequest],
                         onStep: ((Int, GenerationStep) -> Void)? = nil) throws -> [Generation] {
        try generate(requests, stopsAtEndTokens: true, onStep: onStep)
    }

    /// `stopsAtEndTokens` false generates through stop tokens (the benchmark needs runs of
    /// a fixed length).
    func generate(_ requests: [GenerationRequest], stopsAtEndTokens: Bool, reusePrefixes: Bool = true,
                  onStep: ((Int, GenerationStep) -> Void)?) throws -> [Generation] {
        var results = [Generation?](repeating: nil, count: requests.count)
        try generateContinuously(requests, sequences: max(1, requests.count), stopsAtEndTokens: stopsAtEndTokens,
                                 reusePrefixes: reusePrefixes, onStep: onStep) { index, generation in
            results[index] = generation
        }
        return results.map { $0! }
    }

    /// Continuous batching: up to `sequences` requests (default: the engine's) are in flight;
    /// as soon as one finishes it is handed to `deliver` with its index, and the next request
    /// joins the running batch, its prompt prefilled in the same forward passes that decode
    /// the others. Each prompt first copies the longest prefix it shares with a prompt
    /// already computed (see `PrefixCache`). Requests are validated before any work; an
    /// error thrown by `deliver` ends the generation (sequences in flight are dropped) and
    /// is rethrown.
    public func generateContinuously(_ requests: [GenerationRequest], sequences: Int? = nil,
                                     stopsAtEndTokens: Bool = true, reusePrefixes: Bool = true,
                                     onStep: ((Int, GenerationStep) -> Void)? = nil,
                                     deliver: (Int, Generation) throws -> Void) throws {
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
        let batch = ContinuousBatch(engine: self, limit: min(Self.batchCapacity, max(1, sequences ?? self.sequences)),
                                    stopsAtEndTokens: stopsAtEndTokens, reusePrefixes: reusePrefixes)
        try batch.run(requests, onStep: onStep, deliver: deliver)
    }

    /// The generation a finished sequence yields.
    func generation(request: GenerationRequest, ids: [Int32], steps: [GenerationStep],
                    finish: Generation.FinishReason) -> Generation {
        var textIDs = ids
        if finish == .stop { textIDs.removeLast() }
        return Generation(promptIDs: request.promptIDs, ids: ids, steps: steps, text: tokenizer.decode(textIDs),
                          finishReason: finish)
    }
}
