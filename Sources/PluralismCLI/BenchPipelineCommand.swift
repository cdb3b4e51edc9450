import ArgumentParser
import Corpus
import Foundation
import Pluralism

struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Items per minute for each stage, then the time of a fully replayed run.",
        discussion: """
        Runs the pipeline on the inputs (default: the default inputs with the embedded model) \
        in a temporary corpus, timing each stage, then runs it again as a new run in the same \
        corpus with --replay-only semantics: every call comes from the archive, so that time \
        is the pipeline's own overhead. The temporary corpus is deleted afterwards.

        Examples:
          pluralism bench pipeline
          pluralism bench pipeline --items 2
              a quick look: the first 2 items of each mode

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("The run configuration.", valueName: "file"))
    var config = "inputs/run.json"

    @Option(name: .long, help: ArgumentHelp("At most this many items per mode (default: all).", valueName: "n"))
    var items: Int?

    @OptionGroup var execution: ExecutionOptions

    func validate() throws {
        if let items, items < 1 { throw ValidationError("--items must be at least 1") }
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            var inputs = try InputLoader.load(configPath: config)
            if let items {
                var taken: [ItemMode: Int] = [:]
                inputs.items = inputs.items.filter { item in
                    taken[item.mode, default: 0] += 1
                    return taken[item.mode]! <= items
                }
            }
            let corpus = try Corpus.open(path: folder + "/corpus.sqlite")
            let (threads, batchSize) = (execution.threads, execution.batchSize)
            let loader = ModelLoader(modelDirectory: execution.modelDir, threads: threads)
            let options = StageOptions(replayOnly: false, batchSize: batchSize, quiet: execution.quiet)
            let context = StageContext(inputs: inputs, corpus: corpus, options: options, models: { try loader.model(for: $0) })

            let modes = ItemMode.allCases.map { mode in "\(inputs.items.filter { $0.mode == mode }.count) \(mode.rawValue)" }
            print("inputs: \(config), \(inputs.items.count) items (\(modes.joined(separator: ", "))), "
                + "\(inputs.config.communities.count) communities, methods \(inputs.config.methods.map(\.rawValue).joined(separator: ","))")
            print("engine threads: \(threads.map(String.init) ?? "all cores"), batch size \(batchSize)")

            var started = Date()
            try Stages.ingest(inputs, into: corpus)
            let ingest = Date().timeIntervalSince(started)
            _ = try context.archivedModel(for: inputs.config.baseModel)
            let load = Date().timeIntervalSince(started) - ingest
            print("ingest:     \(formatDuration(ingest)); model load \(formatDuration(load))")

            let comment = try await Stages.comment(context)
            print("comment:    \(fixed(rate(inputs.items.count, comment.seconds))) items/min  (\(comment.written) comments in "
                + "\(formatDuration(comment.seconds)), \(fixed(rate(comment.written, comment.seconds))) comments/min, \(comment.freshCalls) calls)")
            let synthesis = try await Stages.synthesize(context)
            print("synthesize: \(fixed(rate(inputs.items.count, synthesis.seconds))) items/min  (\(synthesis.written) syntheses in "
                + "\(formatDuration(synthesis.seconds)), \(fixed(rate(synthesis.written, synthesis.seconds))) syntheses/min, \(synthesis.freshCalls) calls)")

            // The same work as a new run (renamed): every call replays from the archive.
            var replayInputs = inputs
            replayInputs.config.name += "-replay"
            let replayContext = StageContext(
                inputs: replayInputs, corpus: corpus,
                options: StageOptions(replayOnly: true, batchSize: batchSize, quiet: true),
                models: { try loader.model(for: $0) })
            started = Date()
            let replay = try await Pipeline.run(replayContext)
            let replaySeconds = Date().timeIntervalSince(started)
            print("replayed run: \(String(format: "%.0f", replaySeconds * 1000)) ms for \(replay.items) items "
                + "(\(replay.replayedCalls) calls replayed, \(replay.freshCalls) fresh)")
        } catch {
            throw ExitStatus.fail(error)
        }
    }

    private func fixed(_ value: Double) -> String { String(format: "%.1f", value) }

    private func rate(_ count: Int, _ seconds: Double) -> Double {
        seconds > 0 ? Double(count) / seconds * 60 : 0
    }
}
