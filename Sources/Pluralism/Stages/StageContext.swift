import Corpus
import Foundation

/// How stages run: none of this changes what a run produces, only how it gets there.
public struct StageOptions: Sendable {
    /// A call missing from the archive is an error instead of a model call.
    public var replayOnly: Bool
    /// Audited answers written per transaction. (Model calls are not chunked: each model
    /// takes all of a stage's calls and works on as many at once as its `capacity`.)
    /// Results do not depend on it.
    public var batchSize: Int
    /// No progress lines on stderr.
    public var quiet: Bool
    /// Comment and synthesize only this shard's items (`pluralism run --shard K/N`).
    public var shard: Shard?
    /// Set by a signal handler; stages stop taking new work once it is (shared by every copy
    /// of these options).
    public var stop: StopSignal

    public init(replayOnly: Bool = false, batchSize: Int = 8, quiet: Bool = true, shard: Shard? = nil,
                stop: StopSignal = StopSignal()) {
        self.replayOnly = replayOnly
        self.batchSize = max(1, batchSize)
        self.quiet = quiet
        self.shard = shard
        self.stop = stop
    }
}

/// Builds the model a spec names. The CLI passes `ModelLoader.model(for:)`; tests pass
/// scripted models.
public typealias ModelSource = @Sendable (ModelSpec) throws -> any LanguageModel

/// Loads the audit's sentence embedder. The CLI passes `ModelLoader.sentenceEmbedder`;
/// tests pass small deterministic embedders.
public typealias EmbedderSource = @Sendable () throws -> any SentenceEmbedder

/// What every stage works on: the validated inputs, the corpus, the run's id, and the
/// archived models (one per distinct model spec, created on first use so a stage that needs
/// no model never loads one).
public final class StageContext: @unchecked Sendable {
    public let inputs: RunInputs
    public let corpus: Corpus
    public let runID: String
    public let options: StageOptions
    /// Fresh and replayed calls of every stage run with this context.
    public let tally = CallTally()
    /// Archived answers and the rows stages make of them, committed in groups.
    public let writes: GroupCommit

    private let modelSource: ModelSource
    private let embedderSource: EmbedderSource
    private let lock = NSLock()
    private var archivedModels: [ModelSpec: ArchivedModel] = [:]
    private var loadedScorer: (any SupportScorer)?

    public init(inputs: RunInputs, corpus: Corpus, options: StageOptions = StageOptions(), models: @escaping ModelSource,
                embedder: @escaping EmbedderSource = { throw ModelUnavailable(message: "no sentence embedder is configured") }) {
        self.inputs = inputs
        self.corpus = corpus
        self.runID = inputs.runID
        self.options = options
        self.writes = GroupCommit(corpus: corpus)
        self.modelSource = models
        self.embedderSource = embedder
    }

    /// The audit's scorer as the config's `audit` block chooses it, created on first use:
    /// the embedding model, or the judge model behind the call archive.
    public func scorer() throws -> any SupportScorer {
        if let loaded = lock.withLock({ loadedScorer }) { return loaded }
        let scorer: any SupportScorer
        switch config.audit.scorer {
        case .embedding: scorer = EmbeddingScorer(embedder: try embedderSource())
        case .judge: scorer = JudgeScorer(model: try archivedModel(for: config.audit.judgeModel ?? config.baseModel))
        }
        lock.withLock { loadedScorer = scorer }
        return scorer
    }

    public var config: RunConfig { inputs.config }

    /// The items this context comments on and synthesizes: all of them, or its shard's.
    public var workItems: [Item] {
        guard let shard = options.shard else { return inputs.items }
        return inputs.items.filter { shard.contains(itemID: $0.id) }
    }

    /// The run-wide stop request: check it between units of work (`try stop.check()`).
    public var stop: StopSignal { options.stop }

    /// The archive in front of the model a spec names.
    public func archivedModel(for spec: ModelSpec) throws -> ArchivedModel {
        try lock.withLock {
            if let existing = archivedModels[spec] { return existing }
            let model = ArchivedModel(model: try modelSource(spec), corpus: corpus, replayOnly: options.replayOnly,
                                      writes: writes, tally: tally, stop: options.stop)
            archivedModels[spec] = model
            return model
        }
    }

    /// The run's stored record; stages after ingest require it.
    func requireRun() throws -> RunRecord {
        guard let run = try corpus.run(id: runID) else { throw StageError.notIngested(runID: runID) }
        return run
    }
}

/// Times a stage and counts the calls it makes, from the tally's counts when it starts.
struct StageClock {
    let tally: CallTally
    let started = Date()
    let before: (fresh: Int, replayed: Int)

    init(_ tally: CallTally) {
        self.tally = tally
        before = (tally.fresh, tally.replayed)
    }

    func report(_ stage: String, written: Int, alreadyDone: Int) -> StageReport {
        StageReport(stage: stage, written: written, alreadyDone: alreadyDone, freshCalls: tally.fresh - before.fresh,
                    replayedCalls: tally.replayed - before.replayed, seconds: Date().timeIntervalSince(started))
    }
}

/// What one stage did.
public struct StageReport: Sendable {
    public var stage: String
    /// Work items (comments, syntheses) this invocation wrote.
    public var written: Int
    /// Work items already stored, left alone.
    public var alreadyDone: Int
    public var freshCalls: Int
    public var replayedCalls: Int
    public var seconds: Double
}

/// A stage cannot proceed because an earlier stage's output is missing.
public enum StageError: Error, CustomStringConvertible {
    case notIngested(runID: String)
    case missingComments(itemID: String, missing: [String])

    public var description: String {
        switch self {
        case .notIngested(let runID):
            return "run \(runID) is not in the corpus: run `pluralism ingest` (or `pluralism run`) first"
        case .missingComments(let itemID, let missing):
            return "item \(itemID) lacks comments from \(missing.joined(separator: ", ")): run `pluralism comment` first"
        }
    }
}
