import ArgumentParser
import Corpus
import Foundation
import Inference
import Pluralism

struct BenchAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Sentences per second of the audit's sentence encoder, and the time of a whole audit.",
        discussion: """
        Embeds one batch of synthetic sentences (10 to 40 words drawn from a fixed word list by \
        a seeded generator, so every machine embeds the same batch) at each thread count, after \
        a one-sentence warm-up, and prints sentences/s and tokens/s, with the processor time \
        used (on a machine busy with other work, threads wait for a core and wall time \
        overstates their cost). Also reports whether the thread counts gave bit-identical \
        embeddings (they must).

        Then, when the corpus exists (by default the default run's), it copies the corpus to \
        a temporary file and times a complete audit of its latest run there, from an empty \
        audit with a fresh encoder: the figure a user waits for at the end of `pluralism \
        run`. The corpus itself is never written. Figures only.

        Examples:
          pluralism bench audit
          pluralism bench audit --threads 1 --threads 2 --threads 4 --count 200 --json
          pluralism bench audit --corpus runs/default/corpus.sqlite

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("A thread count to measure; repeat for several (default: 1 and 2).", valueName: "n"))
    var threads: [Int] = [1, 2]

    @Option(name: .long, help: ArgumentHelp("Sentences in the batch.", valueName: "n"))
    var count = 1000

    @Flag(name: .long, help: "Print the figures as one JSON object.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("The corpus whose latest run is audited (in a copy) for the whole-audit figure.", valueName: "file"))
    var corpus = CorpusLocation.defaultPath(runName: "default")

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
            let whole = FileManager.default.fileExists(atPath: corpus) ? try await timeWholeAudit(store: store) : nil
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(BenchAuditFigures(embedding: figures, wholeAudit: whole)), as: UTF8.self))
            } else {
                print(String(format: "%d sentences, %.1f tokens each on average", figures.sentences, figures.meanTokens))
                for run in figures.runs {
                    print(String(format: "threads %-3d  %7.1f sentences/s  %8.0f tokens/s  (%.2f s, %.2f s of processor time)",
                                 run.threads, run.sentencesPerSecond, run.tokensPerSecond, run.seconds, run.cpuSeconds))
                }
                print("embeddings identical across thread counts: \(figures.identicalAcrossThreadCounts ? "yes" : "NO")")
                if let whole {
                    print(String(format: "whole audit of run %@ (%d answers, %d rows): %.2f s with %d threads, encoder load included",
                                 whole.runID, whole.answers, whole.rows, whole.seconds, whole.threads))
                } else {
                    print("no corpus at \(corpus): run `pluralism run` first for the whole-audit figure")
                }
            }
        } catch {
            throw ExitStatus.fail(error)
        }
    }

    /// Audits the latest run of a copy of `corpus` from scratch and times it.
    private func timeWholeAudit(store: ModelStore) async throws -> WholeAudit {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-bench-audit-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let source = try Corpus.open(path: corpus, readOnly: true)
        try source.database.execute("VACUUM INTO ?", [copy])
        let target = try Corpus.open(path: copy)
        guard let run = try target.runs().last else { throw ValidationError("the corpus \(corpus) holds no run yet") }
        try target.deleteAudit(runID: run.id)
        let threads = self.threads.max() ?? 1
        let started = Date()
        let scorer = EmbeddingScorer(embedder: try ModelLoader(modelDirectory: modelDir, threads: threads).sentenceEmbedder())
        _ = try await Stages.audit(corpus: target, runID: run.id, settings: AuditSettings(), scorer: scorer)
        return WholeAudit(runID: run.id, answers: try target.syntheses(runID: run.id).count, rows: try target.audits(runID: run.id).count,
                          threads: threads, seconds: Date().timeIntervalSince(started))
    }
}

struct WholeAudit: Encodable {
    var runID: String
    var answers: Int
    var rows: Int
    var threads: Int
    var seconds: Double
}

struct BenchAuditFigures: Encodable {
    var embedding: EmbeddingBenchmark
    var wholeAudit: WholeAudit?
}
