import ArgumentParser
import Foundation
import Inference
import Pluralism

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a reply with the embedded model (SmolLM2-135M-Instruct).",
        discussion: """
        The prompt is wrapped in the model's chat template (an optional system turn, the user \
        turn, then the assistant's turn to complete), unless --raw is given. Without --json \
        the reply is streamed to stdout as it is generated. With --json one JSON object is \
        printed: prompt_ids, ids (generated ids, ending with the stop token when the model \
        stopped), text (without the stop token), finish_reason ("stop" or "length"), and \
        steps, one per generated token: {id, logprob, top: [[token_id, logprob], ...]}, best \
        first, --top-logprobs entries each.

        Decoding: --temperature 0 is greedy; otherwise temperature, then top-k, then top-p, \
        drawn from the project's own seeded generator: the same seed gives the same tokens on \
        any machine and with any thread count.

        Examples:
          pluralism generate --prompt "What is the capital of France?" --temperature 0
          pluralism generate --system "You are a helpful AI assistant." \\
              --prompt "What is the capital of France?" --temperature 0 --json
          pluralism generate --raw --prompt "Once upon a time" --max-tokens 40 --seed 3

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("The user's message (with --raw: the whole prompt text).", valueName: "text"))
    var prompt: String

    @Option(name: .long, help: ArgumentHelp("A system turn before the user's (default: the template's own).", valueName: "text"))
    var system: String?

    @Flag(name: .long, help: "Use the prompt text as it is, without the chat template (special tokens like <|im_start|> are still recognised).")
    var raw = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Stop after this many tokens.", valueName: "n"))
    var maxTokens = 200

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Sampling temperature; 0 is greedy.", valueName: "t"))
    var temperature: Float = 0.7

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Nucleus sampling: keep the most likely tokens up to this much probability (1 = off).", valueName: "p"))
    var topP: Float = 1

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Keep only the k most likely tokens (0 = off).", valueName: "k"))
    var topK = 0

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Random seed for sampling.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Alternatives to report per generated token (with --json).", valueName: "k"))
    var topLogprobs = 0

    @Flag(name: .long, help: "Print one JSON object instead of streaming text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Threads of the engine (default: all cores).", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Where model files are (default: $PLURALISM_MODEL_DIR, else ~/.cache/pluralism/models).", valueName: "dir"))
    var modelDir: String?

    func validate() throws {
        if maxTokens < 0 { throw ValidationError("--max-tokens must be at least 0") }
        if !(temperature >= 0) { throw ValidationError("--temperature must be 0 or more") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if topK < 0 { throw ValidationError("--top-k must be 0 (off) or more") }
        if topLogprobs < 0 { throw ValidationError("--top-logprobs must be 0 or more") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        do {
            let path = try ModelStore(directory: modelDir).locate(ModelStore.defaultModel)
            let engine = try Engine(modelPath: path, threads: threads)
            let promptIDs: [Int32]
            if raw {
                promptIDs = engine.tokenizer.encode(prompt)
            } else {
                var turns: [ChatTemplate.Turn] = []
                if let system { turns.append(.init(role: "system", content: system)) }
                turns.append(.init(role: "user", content: prompt))
                promptIDs = ChatTemplate.encode(turns, tokenizer: engine.tokenizer)
            }
            let request = GenerationRequest(promptIDs: promptIDs, maxTokens: maxTokens, temperature: temperature,
                                            topK: topK, topP: topP, seed: seed, topLogprobs: topLogprobs)
            if json {
                let generation = try engine.generate([request])[0]
                print(Self.json(generation))
            } else {
                var decoder = StreamingDecoder(tokenizer: engine.tokenizer)
                let stops: Set<Int32> = [engine.tokenizer.endOfTurnID, engine.tokenizer.endOfTextID]
                _ = try engine.generate([request]) { _, step in
                    guard !stops.contains(step.id) else { return }
                    Self.write(decoder.append(step.id))
                }
                Self.write(decoder.flush() + "\n")
            }
        } catch {
            throw ExitStatus.fail(error)
        }
    }

    static func write(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// The --json object; keys in a fixed order, numbers as JSON numbers.
    static func json(_ g: Generation) -> String {
        func ids(_ list: [Int32]) -> String { "[" + list.map(String.init).joined(separator: ",") + "]" }
        func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }
        let steps = g.steps.map { step in
            let top = step.top.map { "[\($0.id),\(number($0.logprob))]" }.joined(separator: ",")
            return "{\"id\":\(step.id),\"logprob\":\(number(step.logprob)),\"top\":[\(top)]}"
        }
        return "{\"prompt_ids\":\(ids(g.promptIDs)),\"ids\":\(ids(g.ids)),\"text\":\(JSON.quoted(g.text)),"
            + "\"finish_reason\":\"\(g.finishReason.rawValue)\",\"steps\":[\(steps.joined(separator: ","))]}"
    }
}
