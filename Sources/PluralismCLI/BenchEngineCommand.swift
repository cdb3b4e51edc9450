import ArgumentParser
import Foundation
import Inference
import Pluralism

struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Prefill and decode speed of the embedded engine, and what prefix reuse saves.",
        discussion: """
        For each thread count (default: 1 and 2), measures once after a short warm-up: \
        prefill of a 512-token and of a 1,024-token prompt (tokens/s; attention's share \
        grows with the prompt), decoding 128 new tokens alone (tokens/s) \
        and for 6 sequences at once (tokens/s, all sequences together). Decoding runs past \
        stop tokens so that every run has the same length. Then prefix reuse: the comment \
        prompts of the run config's first items (the prompts `pluralism run` sends first, in \
        its order) are prefilled with reuse off and with an empty prefix store; printed are \
        the share of prompt tokens reused and the time saved. Also printed: the kernels' \
        instruction-set variant (set PLURALISM_KERNELS=portable|avx2|avx512 to compare; every \
        variant computes the same bits) and the peak resident memory. Each rate is also given \
        per second of processor time (all threads together), which other work on the machine \
        disturbs much less: at 1 thread it approximates a quiet machine's rate. Figures only: \
        nothing is asserted.

        Examples:
          pluralism bench engine
          pluralism bench engine --threads 2 --reuse-items 0
          PLURALISM_KERNELS=avx2 pluralism bench engine --threads 1 --json

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Thread counts to measure (default: 1 2).", valueName: "n"))
    var threads: [Int] = [1, 2]

    @Option(name: .long, help: ArgumentHelp("The run config whose comment prompts measure prefix reuse.", valueName: "path"))
    var config = "inputs/run.json"

    @Option(name: .long, help: ArgumentHelp("Items whose comment prompts measure prefix reuse (0: skip).", valueName: "n"))
    var reuseItems = 4

    @Flag(name: .long, help: "Print the figures as one JSON object.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Where model files are (default: $PLURALISM_MODEL_DIR, else ~/.cache/pluralism/models).", valueName: "dir"))
    var modelDir: String?

    func validate() throws {
        if threads.isEmpty || threads.contains(where: { $0 < 1 }) { throw ValidationError("--threads takes counts of at least 1") }
        if reuseItems < 0 { throw ValidationError("--reuse-items must be 0 or more") }
    }

    struct Figures: Codable {
        var kernelVariant: String
        var engines: [EngineBenchmark]
        var prefixReuse: PrefixReuseBenchmark?
        var peakResidentMegabytes: Double
    }

    func run() async throws {
        do {
            let path = try ModelStore(directory: modelDir).locate(ModelStore.defaultModel)
            var figures = Figures(kernelVariant: KernelVariant.current.rawValue, engines: [], prefixReuse: nil,
                                  peakResidentMegabytes: 0)
            for count in threads {
                let engine = try Engine(modelPath: path, threads: count)
                figures.engines.append(try EngineBenchmark.run(engine: engine) { note($0) })
            }
            if reuseItems > 0 {
                let inputs = try InputLoader.load(configPath: config)
                let engine = try Engine(modelPath: path, threads: threads.max())
                let model = EmbeddedModel(engine: engine, fingerprint: ModelStore.defaultModel.sha256)
                var prompts: [[Int32]] = []
                for item in inputs.items.prefix(reuseItems) {
                    for community in inputs.config.communities(inPool: item.pool) {
                        let request = ModelRequest(messages: Prompts.comment(item: item, community: community),
                                                   decoding: community.decoding)
                        prompts.append(model.generationRequest(for: request).promptIDs)
                    }
                }
                note("prefix reuse: \(prompts.count) comment prompts, without and with reuse")
                figures.prefixReuse = try PrefixReuseBenchmark.run(engine: engine, prompts: prompts)
            }
            figures.peakResidentMegabytes = EngineBenchmark.peakResidentMegabytes()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(figures), as: UTF8.self))
            } else {
                print("kernels                          \(figures.kernelVariant)")
                for e in figures.engines {
                    print("threads \(e.threads)")
                    print(String(format: "  prefill (%d-token prompt)      %.1f tokens/s  (%.1f per processor-second)",
                                 e.promptTokens, e.prefillTokensPerSecond, e.prefillTokensPerProcessorSecond))
                    print(String(format: "  prefill (%d-token prompt)     %.1f tokens/s  (%.1f per processor-second)",
                                 e.longPromptTokens, e.longPrefillTokensPerSecond, e.longPrefillTokensPerProcessorSecond))
                    print(String(format: "  decode, batch 1                %.1f tokens/s  (%.1f per processor-second)",
                                 e.decodeTokensPerSecondBatch1, e.decodeTokensPerProcessorSecondBatch1))
                    print(String(format: "  decode, batch %d (total)        %.1f tokens/s  (%.1f per processor-second)",
                                 e.batchSize, e.decodeTokensPerSecondBatch, e.decodeTokensPerProcessorSecondBatch))
                }
                if let r = figures.prefixReuse {
                    print("prefix reuse (\(r.prompts) comment prompts of the first \(reuseItems) items, \(r.promptTokens) tokens)")
                    print(String(format: "  prompts starting from a stored prefix  %d (%.0f%%)", r.hits, 100 * Double(r.hits) / Double(max(1, r.prompts))))
                    print(String(format: "  prompt tokens reused           %d (%.1f%%)", r.reusedTokens, 100 * r.tokenHitRate))
                    print(String(format: "  prefill without / with reuse   %.2f s / %.2f s (%.2f s saved)", r.secondsWithoutReuse, r.secondsWithReuse, r.savedSeconds))
                }
                print(String(format: "peak resident memory             %.0f MB", figures.peakResidentMegabytes))
            }
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}
