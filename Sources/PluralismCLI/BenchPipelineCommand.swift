import ArgumentParser
import Corpus
import Foundation
import Pluralism

struct BenchPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Items per minute for each stage, then the time of a fully replayed run; or calls/s against a server.",
        discussion: """
        Runs the pipeline on the inputs (default: the default inputs with the embedded model) \
        in a temporary corpus, timing each stage, then runs it again as a new run in the same \
        corpus with --replay-only semantics: every call comes from the archive, so that time \
        is the pipeline's own overhead. The temporary corpus is deleted afterwards.

        With --loopback, every model of the inputs is replaced by an OpenAI-compatible server \
        in this process that answers each request after --latency-ms (scripted answers that \
        depend on the request alone), and the comment and synthesize stages run once per \
        --in-flight value with that max_in_flight: the figure is calls per second with the \
        corpus fully written (checked: every call archived, every comment and synthesis \
        stored), beside the ideal max_in_flight / latency. The items are repeated \
        (--copies, new ids) so that each measurement lasts a few seconds.

        Examples:
          pluralism bench pipeline
          pluralism bench pipeline --items 2
              a quick look: the first 2 items of each mode
          pluralism bench pipeline --loopback
              calls/s at max_in_flight 8, 64 and 256 against a 50 ms server
          pluralism bench pipeline --loopback --latency-ms 200 --in-flight 64

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("The run configuration.", valueName: "file"))
    var config = "inputs/run.json"

    @Option(name: .long, help: ArgumentHelp("At most this many items per mode (default: all).", valueName: "n"))
    var items: Int?

    @OptionGroup var execution: ExecutionOptions

    @Flag(name: .long, help: "Measure calls/s against an in-process OpenAI-compatible server instead of the models of the inputs.")
    var loopback = false

    @Option(name: .long, help: ArgumentHelp("With --loopback: the server's time to answer each request.", valueName: "ms"))
    var latencyMs = 50.0

    @Option(name: .long, help: ArgumentHelp("With --loopback: the max_in_flight values to measure, comma-separated.", valueName: "n,n,…"))
    var inFlight = "8,64,256"

    @Option(name: .long, help: ArgumentHelp("With --loopback: copies of the items (default: max_in_flight / 16, at least 1).", valueName: "n"))
    var copies: Int?

    func validate() throws {
        if let items, items < 1 { throw ValidationError("--items must be at least 1") }
        if let copies, copies < 1 { throw ValidationError("--copies must be at least 1") }
        if !(latencyMs > 0) { throw ValidationError("--latency-ms must be more than 0") }
        if inFlightValues == nil { throw ValidationError("--in-flight must be whole numbers from 1 to 1024, like 8,64,256") }
    }

    var inFlightValues: [Int]? {
        let values = inFlight.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && (1...1024).contains($0!) }) else { return nil }
        return values.map { $0! }
    }

    func run() async throws {
        if loopback {
            do {
                try await LoopbackBench(config: config, items: items, latency: latencyMs / 1000, inFlight: inFlightValues ?? [],
                                        copies: copies, quiet: execution.quiet).run()
            } catch {
                throw ExitStatus.fail(error)
            }
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            let inputs = try LoopbackBench.inputs(config: config, itemsPerMode: items)
            let corpus = try Corpus.open(path: folder + "/corpus.sqlite")
            let (threads, batchSize) = (execution.threads, execution.batchSize)
            let loader = ModelLoader(modelDirectory: execution.modelDir, threads: threads)
            let options = StageOptions(replayOnly: false, batchSize: batchSize, quiet: execution.quiet)
            let context = StageContext(inputs: inputs, corpus: corpus, options: options, models: { try loader.model(for: $0) })

            let modes = ItemMode.allCases.map { mode in "\(inputs.items.filter { $0.mode == mode }.count) \(mode.rawValue)" }
            print("inputs: \(config), \(inputs.items.count) items (\(modes.joined(separator: ", "))), "
                + "\(inputs.config.communities.count) communities, methods \(inputs.config.methods.map(\.rawValue).joined(separator: ","))")
            print("engine threads: \(threads.map(String.init) ?? "all cores")")

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

/// `bench pipeline --loopback`: the scheduler against a server that answers after a fixed
/// delay, so calls/s shows how many calls it keeps in flight.
struct LoopbackBench {
    var config: String
    var items: Int?
    var latency: Double
    var inFlight: [Int]
    var copies: Int?
    var quiet: Bool

    /// The config's inputs, at most `itemsPerMode` items of each mode.
    static func inputs(config: String, itemsPerMode: Int?) throws -> RunInputs {
        var inputs = try InputLoader.load(configPath: config)
        if let itemsPerMode {
            var taken: [ItemMode: Int] = [:]
            inputs.items = inputs.items.filter { item in
                taken[item.mode, default: 0] += 1
                return taken[item.mode]! <= itemsPerMode
            }
        }
        return inputs
    }

    func run() async throws {
        let original = try Self.inputs(config: config, itemsPerMode: items)
        print("inputs: \(config), \(original.items.count) items, \(original.config.communities.count) communities; "
            + "server latency \(String(format: "%.0f", latency * 1000)) ms")
        print("max_in_flight  copies   calls   seconds   calls/s   ideal/s   of ideal   target (80% of min(ideal, 1000))")
        for limit in inFlight {
            let server = try LoopbackServer(latency: latency, handler: ScriptedChatCompletions.reply)
            defer { server.stop() }
            let copies = copies ?? max(1, limit / 16)
            var inputs = original
            inputs.items = (1...copies).flatMap { copy in
                original.items.map { item in
                    var item = item
                    if copy > 1 { item.id += ".c\(copy)" }
                    return item
                }
            }
            let spec = ModelSpec(backend: "openai", baseURL: server.baseURL, model: "loopback", maxInFlight: limit)
            inputs.config.baseModel = spec
            for index in inputs.config.communities.indices { inputs.config.communities[index].model = spec }

            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-bench-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let corpus = try Corpus.open(path: folder + "/corpus.sqlite")
            let loader = ModelLoader(environment: [:])
            let context = StageContext(inputs: inputs, corpus: corpus, options: StageOptions(quiet: quiet),
                                       models: { try loader.model(for: $0) })
            try Stages.ingest(inputs, into: corpus)
            let started = Date()
            let comment = try await Stages.comment(context)
            let synthesis = try await Stages.synthesize(context)
            let seconds = Date().timeIntervalSince(started)

            // Fully written: every answer the server gave is archived, every output stored.
            let calls = server.requestCount
            let archived = try corpus.archivedCallCount()
            let counts = try corpus.counts(runID: inputs.runID)
            guard archived == calls, calls == comment.freshCalls + synthesis.freshCalls,
                  counts.comments == comment.written, counts.syntheses == synthesis.written
            else {
                throw BenchIncomplete(message: "\(calls) calls answered, \(archived) archived; \(counts.comments) of \(comment.written) comments, "
                    + "\(counts.syntheses) of \(synthesis.written) syntheses stored")
            }
            let rate = Double(calls) / seconds
            let ideal = Double(limit) / latency
            let target = 0.8 * min(ideal, 1000)
            print(String(format: "%13d  %6d  %6d  %8.2f  %8.0f  %8.0f  %8.0f%%   %.0f/s: ", limit, copies, calls, seconds, rate, ideal,
                         rate / ideal * 100, target) + (rate >= target ? "met" : "missed"))
        }
    }
}

struct BenchIncomplete: Error, CustomStringConvertible {
    var message: String
    var description: String { "the corpus is not fully written: \(message)" }
}
