// Engine throughput figures: prefill of a long prompt, decoding alone and in a batch, and
// what prefix reuse saves on a list of prompts.
import Foundation

/// What `pluralism bench engine` measures on one engine (one thread count). Figures only;
/// nothing is asserted.
public struct EngineBenchmark: Sendable, Codable {
    public var threads: Int
    /// The matrix kernels' instruction-set variant.
    public var kernelVariant: String
    public var promptTokens: Int
    public var prefillTokensPerSecond: Double
    /// Prefill of a long prompt (a steerable selection prompt is ~1,100 tokens), where
    /// attention's share of the time has grown with the context.
    public var longPromptTokens: Int
    public var longPrefillTokensPerSecond: Double
    public var newTokens: Int
    public var decodeTokensPerSecondBatch1: Double
    public var batchSize: Int
    /// All sequences together.
    public var decodeTokensPerSecondBatch: Double
    /// The same rates per second of processor time (all threads together): on a
    /// machine shared with other work, wall-clock rates fall with the load while these move
    /// much less, and at 1 thread they approximate the rate on a quiet machine.
    public var prefillTokensPerProcessorSecond: Double
    public var longPrefillTokensPerProcessorSecond: Double
    public var decodeTokensPerProcessorSecondBatch1: Double
    public var decodeTokensPerProcessorSecondBatch: Double
    public var peakResidentMegabytes: Double

    /// Runs the measurements on `engine` (each once, after a short warm-up). Prefix reuse is
    /// off, so that the prefill figures are the model's own speed.
    public static func run(engine: Engine, promptTokens: Int = 512, longPromptTokens: Int = 1024,
                           newTokens: Int = 128, batchSize: Int = 6,
                           progress: (String) -> Void = { _ in }) throws -> EngineBenchmark {
        let text = """
        The history of the printing press begins in the fifteenth century, when movable type \
        changed how knowledge travelled between cities, scholars and ordinary readers. \
        Before it, books were copied by hand, slowly and at great cost, and errors crept into \
        every copy. Afterwards, the same text could reach thousands of people in identical form.
        """
        let piece = engine.tokenizer.encode(text)
        func prompt(tokens: Int) -> [Int32] {
            var ids: [Int32] = []
            while ids.count < tokens { ids += piece }
            return Array(ids.prefix(tokens))
        }

        _ = try engine.generate([GenerationRequest(promptIDs: prompt(tokens: 16), maxTokens: 4, temperature: 0)],
                                stopsAtEndTokens: false, reusePrefixes: false, onStep: nil)

        func prefillRate(tokens: Int) throws -> (wall: Double, processor: Double) {
            progress("\(engine.threads) thread(s): prefill, \(tokens) tokens")
            let ids = prompt(tokens: tokens)
            let start = Date()
            let processorStart = processorSeconds()
            _ = try engine.generate([GenerationRequest(promptIDs: ids, maxTokens: 1, temperature: 0)],
                                    stopsAtEndTokens: false, reusePrefixes: false, onStep: nil)
            return (Double(tokens) / Date().timeIntervalSince(start), Double(tokens) / (processorSeconds() - processorStart))
        }
        let prefill = try prefillRate(tokens: promptTokens)
        let longPrefill = try prefillRate(tokens: longPromptTokens)

        let questions = [
            "Should cities ban cars from their centres?",
            "Is it ever right to break a promise?",
            "What makes a good neighbour?",
            "Should homework be abolished?",
            "How should a village share its water in a drought?",
            "Is it fair to inherit wealth?",
        ]
        func chat(_ i: Int) -> [Int32] {
            engine.tokenizer.encode(ChatTemplate.render([
                .init(role: "system", content: "You are a helpful AI assistant."),
                .init(role: "user", content: questions[i % questions.count]),
            ]))
        }
        func decodeRate(_ count: Int) throws -> (wall: Double, processor: Double) {
            let requests = (0..<count).map {
                GenerationRequest(promptIDs: chat($0), maxTokens: newTokens, temperature: 0.7, topK: 0, topP: 0.9,
                                  seed: UInt64($0 + 1))
            }
            var firstSteps = 0
            var decodeStart = Date()
            var processorStart = processorSeconds()
            let generations = try engine.generate(requests, stopsAtEndTokens: false, reusePrefixes: false) { _, _ in
                firstSteps += 1
                if firstSteps == count { decodeStart = Date(); processorStart = processorSeconds() }
            }
            let decoded = Double(generations.reduce(0) { $0 + $1.ids.count } - count)
            return (decoded / Date().timeIntervalSince(decodeStart), decoded / (processorSeconds() - processorStart))
        }
        progress("\(engine.threads) thread(s): decode, batch 1, \(newTokens) tokens")
        let batch1 = try decodeRate(1)
        progress("\(engine.threads) thread(s): decode, batch \(batchSize), \(newTokens) tokens each")
        let batched = try decodeRate(batchSize)

        return EngineBenchmark(threads: engine.threads, kernelVariant: engine.kernelVariant.rawValue,
                               promptTokens: promptTokens, prefillTokensPerSecond: prefill.wall,
                               longPromptTokens: longPromptTokens, longPrefillTokensPerSecond: longPrefill.wall,
                               newTokens: newTokens, decodeTokensPerSecondBatch1: batch1.wall, batchSize: batchSize,
                               decodeTokensPerSecondBatch: batched.wall, prefillTokensPerProcessorSecond: prefill.processor,
                               longPrefillTokensPerProcessorSecond: longPrefill.processor,
                               decodeTokensPerProcessorSecondBatch1: batch1.processor,
                               decodeTokensPerProcessorSecondBatch: batched.processor,
                               peakResidentMegabytes: peakResidentMegabytes())
    }

    /// Processor time this process has used so far, all threads together.
    static func processorSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The process's peak resident memory so far.
    public static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / 1024 / 1024
        #endif
    }
}

/// What prefix reuse saves on a list of prompts, each prefilled (one token generated) in the
/// engine's continuous batches: once with reuse off, once with an empty prefix store.
public struct PrefixReuseBenchmark: Sendable, Codable {
    public var prompts: Int
    public var promptTokens: Int
    /// Prompts that started from a stored prefix.
    public var hits: Int
    public var reusedTokens: Int
    /// Share of prompt tokens not computed again.
    public var tokenHitRate: Double
    public var secondsWithoutReuse: Double
    public var secondsWithReuse: Double

    public var savedSeconds: Double { secondsWithoutReuse - secondsWithReuse }

    public static func run(engine: Engine, prompts: [[Int32]]) throws -> PrefixReuseBenchmark {
        let requests = prompts.map { GenerationRequest(promptIDs: $0, maxTokens: 1, temperature: 0) }
        func timed(reuse: Bool) throws -> Double {
            engine.resetPrefixCache()
            let start = Date()
            try engine.generateContinuously(requests, reusePrefixes: reuse) { _, _ in }
            return Date().timeIntervalSince(start)
        }
        let without = try timed(reuse: false)
        let with = try timed(reuse: true)
        let tally = engine.prefixReuse
        return PrefixReuseBenchmark(prompts: tally.prompts, promptTokens: tally.promptTokens, hits: tally.hits,
                                    reusedTokens: tally.reusedTokens, tokenHitRate: tally.tokenHitRate,
                                    secondsWithoutReuse: without, secondsWithReuse: with)
    }
}
