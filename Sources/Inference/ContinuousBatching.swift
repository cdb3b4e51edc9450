// Continuous batching: the loop behind `Engine.generate`.
//
// Each forward pass takes one token from every decoding sequence, then fills the rest of
// its 64 places with prompt tokens of sequences still prefilling, in the order they joined.
// A sequence that finishes is delivered at once and its place (and its share of the
// KV-cache budget) goes to the next waiting request, which starts from the longest prefix
// it shares with a prompt already computed (a request whose prefix is being computed right
// now lets others go first). No sequence waits for a longer one.

/// One `generate` call: the requests waiting, the sequences in flight, the budget they hold.
struct ContinuousBatch {
    let engine: Engine
    /// The most sequences in flight.
    let limit: Int
    let stopsAtEndTokens: Bool
    let reusePrefixes: Bool

    /// A request in flight.
    private struct InFlight {
        let index: Int
        let request: GenerationRequest
        let cache: KVCache
        var sampler: Sampler
        /// Prompt tokens already in the cache.
        var fed: Int
        var ids: [Int32] = []
        var steps: [GenerationStep] = []
        var finish: Generation.FinishReason?
        /// Its share of the KV-cache budget: prompt and `maxTokens`, capped at the context.
        let reservedBytes: Int

        var prefilled: Bool { fed == request.promptIDs.count }
    }

    func run(_ requests: [GenerationRequest], onStep: ((Int, GenerationStep) -> Void)?,
             deliver: (Int, Generation) throws -> Void) throws {
        let capacity = Engine.batchCapacity
        var waiting = Array(requests.indices)
        var live: [InFlight] = []
        var reserved = 0
        let bytesPerPosition = KVCache(config: engine.config).bytesPerPosition

        while true {
            // Requests join in order, except that one whose prompt shares more with a prompt
            // still being prefilled than with any stored one lets the next ones go first: a
            // few passes later that prefix is stored, and it copies it instead.
            var candidate = 0
            while live.count < limit && candidate < min(waiting.count, Self.lookahead) {
                let next = waiting[candidate]
                let request = requests[next]
                if request.maxTokens <= 0 {
                    waiting.remove(at: candidate)
                    try deliver(next, engine.generation(request: request, ids: [], steps: [], finish: .length))
                    continue
                }
                if reusePrefixes && awaitsPrefix(request.promptIDs, live) {
                    candidate += 1
                    continue
                }
                let positions = min(engine.contextLength, request.promptIDs.count + request.maxTokens)
                let bytes = positions * bytesPerPosition
                if !live.isEmpty && reserved + bytes > engine.kvCacheBytes { break }
                waiting.remove(at: candidate)
                live.append(start(next, request, positions: positions, bytes: bytes))
                reserved += bytes
            }
            if live.isEmpty { break }

            // One forward pass: a token per decoding sequence, then prompt tokens.
            var entries: [BatchEntry] = []
            var rows: [Int] = []
            var completed: [Int] = []
            for i in live.indices where live[i].prefilled && entries.count < capacity {
                entries.append(BatchEntry(cache: live[i].cache, position: live[i].cache.length,
                                          token: live[i].ids.last!, wantsLogits: true))
                rows.append(i)
            }
            for i in live.indices where !live[i].prefilled && entries.count < capacity {
                let prompt = live[i].request.promptIDs
                let end = min(prompt.count, live[i].fed + capacity - entries.count)
                for position in live[i].fed..<end {
                    let last = position == prompt.count - 1
                    entries.append(BatchEntry(cache: live[i].cache, position: position, token: prompt[position],
                                              wantsLogits: last))
                    if last { rows.append(i) }
                }
                live[i].fed = end
                if live[i].prefilled { completed.append(i) }
            }
            engine.model.forward(entries, workspace: engine.workspace, parallel: engine.parallel, logits: engine.logits)
            if reusePrefixes {
                for i in completed { engine.prefixes.store(live[i].request.promptIDs, from: live[i].cache) }
            }
            choose(&live, rows, onStep: onStep)

            var remaining: [InFlight] = []
            for sequence in live {
                guard let finish = sequence.finish else {
                    remaining.append(sequence)
                    continue
                }
                reserved -= sequence.reservedBytes
                try deliver(sequence.index, engine.generation(request: sequence.request, ids: sequence.ids,
                                                              steps: sequence.steps, finish: finish))
            }
            live = remaining
        }
    }

    /// Waiting requests considered for a free place, in order.
    static let lookahead = 64
    /// Tokens a prompt in progress must add to the stored prefix for a request to wait for it.
    static let worthWaiting = 16

    /// Whether `prompt` shares markedly more with a prompt still being prefilled than with
    /// any stored prompt (never when nothing is in flight, so a request always runs).
    private func awaitsPrefix(_ prompt: [Int32], _ live: [InFlight]) -> Bool {
        let prefixes = engine.prefixes
        guard prefixes.budgetBytes > 0 else { return false }
        var stored: Int?
        for sequence in live where !sequence.prefilled {
            let shared = prefixes.commonPrefix(sequence.request.promptIDs, prompt, limit: prompt.count - 1)
            if shared < Self.worthWaiting { continue }
            if stored == nil { stored = prefixes.matchLength(prompt) }
            if shared >= stored! + Self.worthWaiting { return true }
        }
        return false
    }

    /// A request joining: its cache holds its whole budget at once (no growth while it
    /// runs), and starts from the longest stored prefix its prompt shares.
    private func start(_ index: Int, _ request: GenerationRequest, positions: Int, bytes: Int) -> InFlight {
        let cache = KVCache(config: engine.config)
        cache.reserve(positions)
        var fed = 0
        let prefixes = engine.prefixes
        prefixes.tally.prompts += 1
        prefixes.tally.promptTokens += request.promptIDs.count
        if reusePrefixes, let match = prefixes.longestMatch(request.promptIDs) {
            cache.copyPrefix(of: match.cache, count: match.length)
            fed = match.length
            prefixes.tally.hits += 1
            prefixes.tally.reusedTokens += match.length
        }
        return InFlight(index: index, request: request, cache: cache,
                        sampler: Sampler(temperature: request.temperature, topK: request.topK, topP: request.topP,
                                         seed: request.seed),
                        fed: fed, reservedBytes: bytes)
    }

    /// Samples the next token of each sequence in `rows` from its row of logits (row r for
    /// live[rows[r]]), records the steps, and decides which sequences are finished. The
    /// sequences are sampled in parallel (each has its own sampler and writes only its own
    /// slot); steps are then recorded and reported in order.
    private func choose(_ live: inout [InFlight], _ rows: [Int], onStep: ((Int, GenerationStep) -> Void)?) {
        let vocabulary = engine.config.vocabularySize
        let logits = engine.logits
        var steps = [GenerationStep](repeating: GenerationStep(id: 0, logprob: 0, top: []), count: rows.count)
        live.withUnsafeMutableBufferPointer { live in
            steps.withUnsafeMutableBufferPointer { steps in
                engine.parallel.forEachRange(rows.count) { _, range in
                    for row in range {
                        let s = rows[row]
                        let buffer = UnsafeBufferPointer(start: logits + row * vocabulary, count: vocabulary)
                        let logprobs = Logprobs.logSoftmax(buffer)
                        let id = live[s].sampler.sample(logits: buffer)
                        steps[row] = GenerationStep(id: id, logprob: logprobs[Int(id)],
                                                    top: Logprobs.top(logprobs, k: live[s].request.topLogprobs))
                    }
                }
            }
        }
        let tokenizer = engine.tokenizer
        for (row, s) in rows.enumerated() {
            let step = steps[row]
            live[s].ids.append(step.id)
            live[s].steps.append(step)
            onStep?(live[s].index, step)
            if stopsAtEndTokens && (step.id == tokenizer.endOfTurnID || step.id == tokenizer.endOfTextID) {
                live[s].finish = .stop
            } else if live[s].ids.count >= live[s].request.maxTokens
                        || live[s].cache.length >= engine.contextLength {
                live[s].finish = .length
            }
        }
    }
}
