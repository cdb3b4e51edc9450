import ArgumentParser
import Foundation
import Inference

struct BenchEmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentences per second of the sentence encoder (all-MiniLM-L6-v2).",
        discussion: """
        Embeds one batch of synthetic sentences (10 to 40 words drawn from a fixed word list by \
        a seeded generator, so every machine embeds the same batch) at each thread count, after \
        a one-sentence warm-up, and prints sentences/s and tokens/s, with the processor time \
        used (on a machine busy with other work, threads wait for a core and wall time \
        overstates their cost). Also reports whether the thread counts gave bit-identical \
        embeddings (they must). Figures only.

        Examples:
          pluralism bench embed
          pluralism bench embed --threads 1 --threads 2 --threads 4 --count 200 --json

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("A thread count to measure; repeat for several (default: 1 and 2).", valueName: "n"))
    var threads: [Int] = [1, 2]

    @Option(name: .long, help: ArgumentHelp("Sentences in the batch.", valueName: "n"))
    var count = 1000

    @Flag(name: .long, help: "Print the figures as one JSON object.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Where model files are (default: $PLURALISM_MODEL_DIR, else ~/.cache/pluralism/models).", valueName: "dir"))
    var modelDir: String?

    func validate() throws {
        if threads.contains(where: { $0 < 1 }) { throw ValidationError("--threads must be at least 1") }
        if count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        do {
            let store = ModelStore(directory: modelDir)
            let figures = try EmbeddingBenchmark.run(
                modelPath: store.locate(ModelStore.sentenceModel), vocabularyPath: store.locate(ModelStore.sentenceVocabulary),
                threadCounts: threads, count: count) { note($0) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(figures), as: UTF8.self))
            } else {
                print(String(format: "%d sentences, %.1f tokens each on average", figures.sentences, figures.meanTokens))
                for run in figures.runs {
                    print(String(format: "threads %-3d  %7.1f sentences/s  %8.0f tokens/s  (%.2f s, %.2f s of processor time)",
                                 run.threads, run.sentencesPerSecond, run.tokensPerSecond, run.seconds, run.cpuSeconds))
                }
                print("embeddings identical across thread counts: \(figures.identicalAcrossThreadCounts ? "yes" : "NO")")
            }
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}
