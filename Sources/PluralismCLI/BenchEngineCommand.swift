import ArgumentParser
import Foundation
import Inference

struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Prefill and decode speed of the embedded engine, and its peak memory.",
        discussion: """
        Measures, once each after a short warm-up: prefill of a 512-token prompt (tokens/s), \
        decoding 128 new tokens alone (tokens/s) and for 6 sequences at once (tokens/s, all \
        sequences together; each weight block is unpacked once per step for all of them), and \
        the process's peak resident memory. Decoding runs past stop tokens so that every run \
        has the same length. Figures only: nothing is asserted.

        Examples:
          pluralism bench engine
          pluralism bench engine --threads 1 --json

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("Threads of the engine (default: all cores).", valueName: "n"))
    var threads: Int?

    @Flag(name: .long, help: "Print the figures as one JSON object.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Where model files are (default: $PLURALISM_MODEL_DIR, else ~/.cache/pluralism/models).", valueName: "dir"))
    var modelDir: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        do {
            let path = try ModelStore(directory: modelDir).locate(ModelStore.defaultModel)
            let engine = try Engine(modelPath: path, threads: threads)
            let figures = try EngineBenchmark.run(engine: engine) { note($0) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(figures), as: UTF8.self))
            } else {
                print("threads                      \(figures.threads)")
                print(String(format: "prefill (%d-token prompt)    %.1f tokens/s", figures.promptTokens, figures.prefillTokensPerSecond))
                print(String(format: "decode, batch 1              %.1f tokens/s", figures.decodeTokensPerSecondBatch1))
                print(String(format: "decode, batch %d (total)      %.1f tokens/s", figures.batchSize, figures.decodeTokensPerSecondBatch))
                print(String(format: "peak resident memory         %.0f MB", figures.peakResidentMegabytes))
            }
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}
