import Foundation

/// The manifest of one run: what was asked for, with which inputs and which tool.
public struct RunRecord: Sendable, Equatable {
    /// `interrupted`: stopped by SIGINT or SIGTERM after committing what was done; running
    /// the same command again resumes it.
    public enum Status: String, Sendable, CaseIterable { case running, finished, failed, interrupted }
    public var id: String
    public var name: String
    /// The normalised run configuration (canonical JSON).
    public var configJSON: String
    /// Input file (path relative to the config) → sha256 of its bytes.
    public var inputHashes: [String: String]
    public var toolVersion: String
    public var seed: UInt64
    public var status: Status
    /// ISO 8601, UTC.
    public var createdAt: String

    public init(
        id: String, name: String, configJSON: String, inputHashes: [String: String], toolVersion: String,
        seed: UInt64, status: Status = .running, createdAt: String = Corpus.timestamp()
    ) {
        self.id = id
        self.name = name
        self.configJSON = configJSON
        self.inputHashes = inputHashes
        self.toolVersion = toolVersion
        self.seed = seed
        self.status = status
        self.createdAt = createdAt
    }
}

/// One question of a run, as read from its input file.
public struct ItemRecord: Sendable, Equatable {
    public var runID, id, mode, pool, sourceFile: String
    /// 1-based line of the item in `sourceFile`.
    public var line: Int
    /// Position in the run (input order): the order stages and reports follow.
    public var ordinal: Int
    /// The item's canonical JSON (sorted keys).
    public var contentJSON: String
    /// sha256 of `contentJSON`.
    public var contentHash: String

    public init(
        runID: String, id: String, mode: String, pool: String, sourceFile: String, line: Int, ordinal: Int,
        contentJSON: String, contentHash: String
    ) {
        self.runID = runID
        self.id = id
        self.mode = mode
        self.pool = pool
        self.sourceFile = sourceFile
        self.line = line
        self.ordinal = ordinal
        self.contentJSON = contentJSON
        self.contentHash = contentHash
    }
}

/// One community LM of a run.
public struct CommunityRecord: Sendable, Equatable {
    public var runID, name, pool, description, systemPrompt, profile: String
    /// The community's model specification (canonical JSON).
    public var modelJSON: String
    /// Position in the configuration: the order of comments in prompts.
    public var ordinal: Int
    /// The display name prompts show for the community ("" when the config gives none:
    /// prompts then show its description alone, never its name).
    public var label: String

    public init(
        runID: String, name: String, pool: String, description: String, systemPrompt: String, profile: String,
        modelJSON: String, ordinal: Int, label: String = ""
    ) {
        self.runID = runID
        self.name = name
        self.pool = pool
        self.description = description
        self.systemPrompt = systemPrompt
        self.profile = profile
        self.modelJSON = modelJSON
        self.ordinal = ordinal
        self.label = label
    }
}

/// One model call in the archive, stored once under the sha256 of its canonical request.
public struct ArchivedCall: Sendable, Equatable {
    public var key, backend, baseURL, model, requestJSON, responseJSON, createdAt: String
    public var durationMS: Int

    public init(
        key: String, backend: String, baseURL: String, model: String, requestJSON: String, responseJSON: String,
        createdAt: String = Corpus.timestamp(), durationMS: Int
    ) {
        self.key = key
        self.backend = backend
        self.baseURL = baseURL
        self.model = model
        self.requestJSON = requestJSON
        self.responseJSON = responseJSON
        self.createdAt = createdAt
        self.durationMS = durationMS
    }
}

/// One community's comment on one item (sample `sampleIndex` when a community comments
/// several times).
public struct CommentRecord: Sendable, Equatable {
    public var runID, itemID, community: String
    public var sampleIndex: Int
    public var text: String
    /// The archived call that produced the text.
    public var callKey: String

    public init(runID: String, itemID: String, community: String, sampleIndex: Int, text: String, callKey: String) {
        self.runID = runID
        self.itemID = itemID
        self.community = community
        self.sampleIndex = sampleIndex
        self.text = text
        self.callKey = callKey
    }
}

/// The answer of one method (a mode or a baseline) to one item.
public struct SynthesisRecord: Sendable, Equatable {
    /// How a selection (steerable comment, MoE expert) was obtained.
    public enum SelectionMethod: String, Sendable, CaseIterable {
        /// Read as a distribution from next-token log-probabilities.
        case logprobs
        /// Parsed from generated text (backends without log-probabilities).
        case parsed
        /// Nothing could be read: a seeded draw among all candidates.
        case fallback
    }

    public var runID, itemID, method, text: String
    /// Steerable and MoE: the community chosen (by the model, or by the fallback's draw).
    public var selectedCommunity: String?
    /// Steerable and MoE: true unless the selection fell back.
    public var selectionParsed: Bool?
    /// Steerable and MoE: the base model's reply to the selection prompt in the configuration's
    /// order (the first rotation).
    public var selectionReply: String?
    /// Chosen option index (0-based) for multiple-choice answers: the most probable option of
    /// the final distribution, ties broken by a seeded draw (`answerTieJSON`).
    public var answerOption: Int?
    /// The archived calls behind this answer, in the order they were made.
    public var callKeys: [String]
    /// Steerable and MoE: how the selection was obtained.
    public var selectionMethod: SelectionMethod?
    /// Steerable and MoE: the selection's candidates, final distribution, per-rotation parts
    /// with their evidence, and any tie draw (canonical JSON; docs/corpus-schema.md).
    public var selectionJSON: String?
    /// The communities whose comments the answer prompt showed, in the order shown (nil when
    /// the prompt showed none).
    public var passages: [String]?
    /// Multiple-choice answers whose final distribution tied: `{"tied": [...], "drawn": i}`
    /// (canonical JSON); nil when one option was the most probable.
    public var answerTieJSON: String?

    public init(
        runID: String, itemID: String, method: String, text: String, selectedCommunity: String? = nil,
        selectionParsed: Bool? = nil, selectionReply: String? = nil, answerOption: Int? = nil, callKeys: [String] = [],
        selectionMethod: SelectionMethod? = nil, selectionJSON: String? = nil, passages: [String]? = nil,
        answerTieJSON: String? = nil
    ) {
        self.runID = runID
        self.itemID = itemID
        self.method = method
        self.text = text
        self.selectedCommunity = selectedCommunity
        self.selectionParsed = selectionParsed
        self.selectionReply = selectionReply
        self.answerOption = answerOption
        self.callKeys = callKeys
        self.selectionMethod = selectionMethod
        self.selectionJSON = selectionJSON
        self.passages = passages
        self.answerTieJSON = answerTieJSON
    }
}

/// A distribution over an item's options: one per community and the mixed one (`community`
/// is "" for the mixed, final distribution of the method).
public struct DistributionRecord: Sendable, Equatable {
    public var runID, itemID, method: String
    public var community: String
    public var probabilities: [Double]
    /// Probability mass the option tokens covered among the reported alternatives, before
    /// renormalisation.
    public var coveredMass: Double
    /// True when nothing usable was found and the distribution is the uniform fallback.
    public var fallback: Bool
    /// The community's weight in the mix (1 for the mixed distribution itself).
    public var weight: Double
    /// The distributions read with the options in each presented order, mapped back to the
    /// item's option order, that `probabilities` averages (canonical JSON; `[]` for rows
    /// written before schema version 3). The audit reads the order bias from them.
    public var rotationsJSON: String

    public init(
        runID: String, itemID: String, method: String, community: String, probabilities: [Double],
        coveredMass: Double, fallback: Bool, weight: Double, rotationsJSON: String = "[]"
    ) {
        self.rotationsJSON = rotationsJSON
        self.runID = runID
        self.itemID = itemID
        self.method = method
        self.community = community
        self.probabilities = probabilities
        self.coveredMass = coveredMass
        self.fallback = fallback
        self.weight = weight
    }
}

/// One audit score: a metric computed for one item's answer by one method, optionally
/// per community ("" when the score is not about one community).
public struct AuditRecord: Sendable, Equatable {
    public var runID, itemID, method, metric, community: String
    /// nil when the metric could not be computed (the evidence says why).
    public var score: Double?
    /// What the score rests on (canonical JSON).
    public var evidenceJSON: String

    public init(
        runID: String, itemID: String, method: String, metric: String, community: String = "", score: Double?,
        evidenceJSON: String
    ) {
        self.runID = runID
        self.itemID = itemID
        self.method = method
        self.metric = metric
        self.community = community
        self.score = score
        self.evidenceJSON = evidenceJSON
    }
}

/// One per-run audit number (docs/audit.md): a metric of one method over the run's items,
/// about a subject (`""`, a community or a population), beside a trivial baseline's score.
public struct AuditSummaryRecord: Sendable, Equatable {
    public var runID, method, metric, subject: String
    /// nil when no item could be scored (the evidence says why).
    public var value: Double?
    /// How many items the value rests on.
    public var count: Int
    /// What a trivial predictor (uniform guess, majority class) scores on the same items.
    public var baseline: Double?
    /// What the number rests on (canonical JSON).
    public var evidenceJSON: String

    public init(runID: String, method: String, metric: String, subject: String = "", value: Double?, count: Int,
                baseline: Double? = nil, evidenceJSON: String = "{}") {
        self.runID = runID
        self.method = method
        self.metric = metric
        self.subject = subject
        self.value = value
        self.count = count
        self.baseline = baseline
        self.evidenceJSON = evidenceJSON
    }
}

/// How a run's audit was measured: the scorer, its model's fingerprint and the thresholds.
public struct AuditScorerRecord: Sendable, Equatable {
    public var runID: String
    /// `embedding` or `judge`.
    public var scorer: String
    /// The scorer model's fingerprint (the embedding model's sha256, or the judge's archive identity).
    public var model: String
    /// Metric → threshold (canonical JSON).
    public var thresholdsJSON: String
    /// Version of the metric definitions (docs/audit.md); a new version re-scores.
    public var metricVersion: String
    public var createdAt: String

    public init(runID: String, scorer: String, model: String, thresholdsJSON: String, metricVersion: String,
                createdAt: String = Corpus.timestamp()) {
        self.runID = runID
        self.scorer = scorer
        self.model = model
        self.thresholdsJSON = thresholdsJSON
        self.metricVersion = metricVersion
        self.createdAt = createdAt
    }
}

/// Row counts of one run, for progress and summaries.
public struct CorpusCounts: Sendable, Equatable {
    public var items = 0
    public var communities = 0
    public var comments = 0
    public var syntheses = 0
    public var distributions = 0
    public var audits = 0

    public init(items: Int = 0, communities: Int = 0, comments: Int = 0, syntheses: Int = 0, distributions: Int = 0, audits: Int = 0) {
        self.items = items
        self.communities = communities
        self.comments = comments
        self.syntheses = syntheses
        self.distributions = distributions
        self.audits = audits
    }
}
