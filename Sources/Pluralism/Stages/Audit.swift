import Corpus
import Foundation

extension Stages {
    /// The version of the metric definitions in docs/audit.md. Scores stored under another
    /// version are replaced when the run is audited again.
    public static let auditMetricVersion = "3"

    /// Audits the context's run with the scorer and thresholds of its config.
    public static func audit(_ context: StageContext) async throws -> StageReport {
        try await audit(corpus: context.corpus, runID: context.runID, settings: context.config.audit,
                        scorer: try context.scorer(), options: context.options, tally: context.tally)
    }

    /// Scores every answer of a run from the corpus alone (docs/audit.md defines each
    /// metric) and writes the per-run summaries.
    ///
    /// Only the scorer's model is used: no community or base model is called. Each batch of
    /// items is written in one transaction, and answers already scored with the same scorer,
    /// model, thresholds and metric version are skipped, so the stage resumes after an
    /// interruption and a second run changes nothing. A different scorer or threshold
    /// replaces the run's scores.
    public static func audit(corpus: Corpus, runID: String, settings: AuditSettings, scorer: any SupportScorer,
                             options: StageOptions = StageOptions(), tally: CallTally = CallTally()) async throws -> StageReport {
        let clock = StageClock(tally)
        guard try corpus.run(id: runID) != nil else { throw StageError.notIngested(runID: runID) }
        let identity = AuditScorerRecord(
            runID: runID, scorer: scorer.kind, model: scorer.fingerprint, thresholdsJSON: settings.thresholds.json.canonical,
            metricVersion: auditMetricVersion)
        try corpus.transaction {
            let stored = try corpus.auditScorer(runID: runID)
            if let stored, (stored.scorer, stored.model, stored.thresholdsJSON, stored.metricVersion)
                == (identity.scorer, identity.model, identity.thresholdsJSON, identity.metricVersion) { return }
            try corpus.deleteAudit(runID: runID)
            try corpus.setAuditScorer(identity)
        }

        let contents = try AuditedRun(corpus: corpus, runID: runID)
        let done = Set(try corpus.audits(runID: runID).map { SynthesisKey(item: $0.itemID, method: $0.method) })
        var pending: [SynthesisRecord] = []
        var alreadyDone = 0
        for synthesis in contents.syntheses {
            if done.contains(SynthesisKey(item: synthesis.itemID, method: synthesis.method)) {
                alreadyDone += 1
            } else {
                pending.append(synthesis)
            }
        }

        let auditor = Auditor(contents: contents, thresholds: settings.thresholds, scorer: scorer)
        let progress = ProgressReporter(label: "audits", total: pending.count, quiet: options.quiet || pending.isEmpty)
        progress.advance(by: 0)
        var written = 0
        for batch in pending.chunked(options.batchSize) {
            try options.stop.check()
            var rows: [AuditRecord] = []
            var audited = 0
            // A stop request mid-batch stores the answers already scored, then stops.
            for synthesis in batch where !options.stop.isRequested {
                rows += try await auditor.audit(synthesis)
                audited += 1
            }
            try corpus.insertAudits(rows)
            written += audited
            progress.advance(by: audited)
        }
        try options.stop.check()
        progress.finish()

        let summaries = AuditSummaries.compute(contents: contents, audits: try corpus.audits(runID: runID))
        try corpus.transaction {
            guard try corpus.auditSummaries(runID: runID) != summaries else { return }
            try corpus.database.execute("DELETE FROM audit_summary WHERE run_id = ?", [runID])
            try corpus.insertAuditSummaries(summaries)
        }
        return clock.report("audit", written: written, alreadyDone: alreadyDone)
    }
}

/// A run's stored contents, read once: what the audit scores and summarises.
struct AuditedRun {
    let runID: String
    let items: [AuditedItem]
    let itemsByID: [String: AuditedItem]
    /// Community name → pool, and the pool's communities in configuration order.
    let communityPool: [String: String]
    let poolMembers: [String: [String]]
    /// Item id → community → comment text (first sample).
    let comments: [String: [String: String]]
    let syntheses: [SynthesisRecord]
    /// "item\u{0}method" → distributions (parts in community order, the mix last).
    let distributions: [String: [DistributionRecord]]

    init(corpus: Corpus, runID: String) throws {
        self.runID = runID
        items = try corpus.items(runID: runID).map(AuditedItem.init)
        itemsByID = Dictionary(uniqueKeysWithValues: items.map { ($0.record.id, $0) })
        var communityPool: [String: String] = [:]
        var poolMembers: [String: [String]] = [:]
        for community in try corpus.communities(runID: runID) {
            communityPool[community.name] = community.pool
            poolMembers[community.pool, default: []].append(community.name)
        }
        self.communityPool = communityPool
        self.poolMembers = poolMembers
        var comments: [String: [String: String]] = [:]
        for comment in try corpus.comments(runID: runID) where comment.sampleIndex == 0 {
            comments[comment.itemID, default: [:]][comment.community] = comment.text
        }
        self.comments = comments
        syntheses = try corpus.syntheses(runID: runID)
        var distributions: [String: [DistributionRecord]] = [:]
        for distribution in try corpus.distributions(runID: runID) {
            distributions[Self.key(distribution.itemID, distribution.method), default: []].append(distribution)
        }
        self.distributions = distributions
    }

    static func key(_ item: String, _ method: String) -> String { item + "\u{0}" + method }

    func distributions(_ item: String, _ method: String) -> [DistributionRecord] {
        distributions[Self.key(item, method)] ?? []
    }

    /// The item's pool communities that commented, in configuration order, with their comments.
    func voices(_ item: AuditedItem) -> [(community: String, text: String)] {
        let stored = comments[item.record.id] ?? [:]
        return (poolMembers[item.record.pool] ?? []).compactMap { name in stored[name].map { (name, $0) } }
    }
}

/// An item as stored, with the content the audit compares against (values, gold labels).
struct AuditedItem {
    struct Content: Decodable {
        var values: [ReferenceValue]?
        var options: [String]?
        var gold: Int?
        var population: String?
        var goldDistribution: [Double]?

        enum CodingKeys: String, CodingKey {
            case values, options, gold, population
            case goldDistribution = "gold_distribution"
        }
    }

    let record: ItemRecord
    let content: Content

    init(_ record: ItemRecord) throws {
        self.record = record
        do {
            content = try JSONDecoder().decode(Content.self, from: Data(record.contentJSON.utf8))
        } catch {
            throw CorpusError.invalidValue(table: "item", column: "content_json", key: "(\(record.runID), \(record.id))",
                                           reason: "not an item's content: \(error)")
        }
    }

    var options: [String] { content.options ?? [] }
}

/// Scores one answer: the per-item rows of docs/audit.md.
struct Auditor {
    let contents: AuditedRun
    let thresholds: AuditSettings.Thresholds
    let scorer: any SupportScorer

    /// Methods whose prompt held comments, and so can be faithful to them.
    static let groundedMethods: Set<String> = [Method.overton.rawValue, Method.steerable.rawValue, Method.moe.rawValue]

    func audit(_ synthesis: SynthesisRecord) async throws -> [AuditRecord] {
        guard let item = contents.itemsByID[synthesis.itemID] else { return [] }
        return item.options.isEmpty ? try await auditText(synthesis, item) : auditChoice(synthesis, item)
    }

    private func row(_ synthesis: SynthesisRecord, _ metric: String, community: String = "", score: Double?,
                     _ evidence: [String: JSON]) -> AuditRecord {
        AuditRecord(runID: synthesis.runID, itemID: synthesis.itemID, method: synthesis.method, metric: metric,
                    community: community, score: score, evidenceJSON: JSON.object(evidence).canonical)
    }

    // MARK: text answers

    private func auditText(_ synthesis: SynthesisRecord, _ item: AuditedItem) async throws -> [AuditRecord] {
        let sentences = SentenceSplitter.split(synthesis.text)
        let voices = contents.voices(item)
        var premises: [String] = []
        var owner: [Int] = []
        for (index, voice) in voices.enumerated() {
            let split = SentenceSplitter.split(voice.text)
            premises += split
            owner += Array(repeating: index, count: split.count)
        }
        let values = item.record.mode == Method.overton.rawValue ? item.content.values ?? [] : []
        let noSentences: [String: JSON] = ["reason": .string("the answer has no sentences")]

        var rows: [AuditRecord] = []
        let support = sentences.isEmpty || premises.isEmpty ? [] : try await scorer.support(premises: premises, hypotheses: sentences)

        if Self.groundedMethods.contains(synthesis.method) {
            let inPrompt = synthesis.method == Method.overton.rawValue ? Array(voices.indices)
                : voices.indices.filter { voices[$0].community == synthesis.selectedCommunity }
            if sentences.isEmpty {
                rows.append(row(synthesis, "faithfulness", score: nil, noSentences))
            } else {
                let premiseIndices = premises.indices.filter { inPrompt.contains(owner[$0]) }
                let attributions = support.isEmpty
                    ? sentences.map { _ in Support.Attribution(premise: nil, support: 0, supported: false) }
                    : Support.attribute(support, premises: premiseIndices, sentences: sentences.count, threshold: thresholds.faithfulness)
                let evidence: [JSON] = zip(sentences, attributions).map { sentence, attribution in
                    .object([
                        "text": .string(sentence),
                        "community": attribution.premise.map { .string(voices[owner[$0]].community) } ?? .null,
                        "comment_sentence": attribution.premise.map { .string(premises[$0]) } ?? .null,
                        "support": .double(attribution.support),
                        "supported": .bool(attribution.supported),
                    ])
                }
                rows.append(row(synthesis, "faithfulness", score: Support.faithfulness(attributions),
                                ["threshold": .double(thresholds.faithfulness), "sentences": .array(evidence)]))
            }
        }

        for (index, voice) in voices.enumerated() {
            let premiseIndices = premises.indices.filter { owner[$0] == index }
            guard !sentences.isEmpty, !premiseIndices.isEmpty else {
                let reason = sentences.isEmpty ? "the answer has no sentences" : "the community's comment has no sentences"
                rows.append(row(synthesis, "representation", community: voice.community, score: nil, ["reason": .string(reason)]))
                continue
            }
            let pairs = Support.strongestPairs(support, premises: premiseIndices, sentences: sentences.count, limit: 3)
            let score = pairs[0].support
            rows.append(row(synthesis, "representation", community: voice.community, score: score, [
                "threshold": .double(thresholds.representation),
                "represented": .bool(score >= thresholds.representation),
                "pairs": .array(pairs.map {
                    .object(["comment_sentence": .string(premises[$0.premise]), "answer_sentence": .string(sentences[$0.sentence]),
                             "support": .double($0.support)])
                }),
            ]))
        }

        if !values.isEmpty {
            if sentences.isEmpty {
                rows.append(row(synthesis, "value_coverage", score: nil, noSentences))
            } else {
                let valueSupport = try await scorer.support(premises: values.map(\.explanation), hypotheses: sentences)
                let coverage = Support.valueCoverage(valueSupport, sentences: sentences.count)
                let perValue: [JSON] = zip(values, coverage.perValue).map { value, best in
                    .object([
                        "value": .string(value.value), "explanation": .string(value.explanation),
                        "best_sentence": best.sentence.map { .string(sentences[$0]) } ?? .null, "support": .double(best.support),
                    ])
                }
                rows.append(row(synthesis, "value_coverage", score: coverage.mean, [
                    "threshold": .double(thresholds.valueCoverage),
                    "covered": .bool((coverage.mean ?? 0) >= thresholds.valueCoverage),
                    "values": .array(perValue),
                ]))
            }
        }
        return rows
    }

    // MARK: multiple-choice answers

    private func auditChoice(_ synthesis: SynthesisRecord, _ item: AuditedItem) -> [AuditRecord] {
        var rows: [AuditRecord] = []
        let own = contents.distributions(synthesis.itemID, synthesis.method)
        guard let mix = own.first(where: { $0.community == "" }) else { return [] }
        let predicted = mix.probabilities

        if item.record.mode == Method.steerable.rawValue, let gold = item.content.gold, let option = synthesis.answerOption {
            rows.append(row(synthesis, "steering_correct", score: option == gold ? 1 : 0, [
                "predicted": .integer(Int64(option)), "gold": .integer(Int64(gold)), "options": .array(item.options.map(JSON.string)),
                "selection": synthesis.selectionMethod.map { .string($0.rawValue) }
                    ?? synthesis.selectionParsed.map { .string($0 ? "parsed" : "fallback") } ?? .null,
                "distribution_fallback": .bool(mix.fallback),
            ]))
        }

        if let gold = item.content.goldDistribution, gold.count == predicted.count {
            let uniform = Divergence.jensenShannonDistance(Divergence.uniform(gold.count), gold)
            rows.append(row(synthesis, "js_distance", score: Divergence.jensenShannonDistance(predicted, gold), [
                "predicted": .array(predicted.map(JSON.double)), "gold": .array(gold.map(JSON.double)),
                "population": item.content.population.map(JSON.string) ?? .null,
                "fallback": .bool(mix.fallback), "covered_mass": .double(mix.coveredMass), "uniform_js": .double(uniform),
            ]))
            // The stored choice (its ties drawn, never the first by position); the gold side's
            // ties go to the lower index.
            let predictedOption = synthesis.answerOption ?? Divergence.argmax(predicted), goldOption = Divergence.argmax(gold)
            rows.append(row(synthesis, "most_likely_correct", score: predictedOption == goldOption ? 1 : 0, [
                "predicted_option": .integer(Int64(predictedOption)), "gold_option": .integer(Int64(goldOption)),
            ]))
        }

        if item.record.mode == Method.distributional.rawValue {
            let parts = contents.distributions(synthesis.itemID, Method.distributional.rawValue).filter { $0.community != "" }
            for part in parts where part.probabilities.count == predicted.count {
                let score = 1 - Divergence.jensenShannonDistance(part.probabilities, predicted) / Divergence.maxJensenShannonDistance
                // The same score for a uniform guess: when it is as high, the community's
                // distribution says too little for its "representation" to mean anything.
                let uniform = 1 - Divergence.jensenShannonDistance(part.probabilities, Divergence.uniform(predicted.count))
                    / Divergence.maxJensenShannonDistance
                rows.append(row(synthesis, "representation", community: part.community, score: score, [
                    "threshold": .double(thresholds.representationDistribution),
                    "represented": .bool(score >= thresholds.representationDistribution),
                    "uniform_score": .double(uniform),
                    "uniform_represented": .bool(uniform >= thresholds.representationDistribution),
                    "community_distribution": .array(part.probabilities.map(JSON.double)),
                    "answer_distribution": .array(predicted.map(JSON.double)),
                ]))
            }
            if synthesis.method == Method.distributional.rawValue, !parts.isEmpty {
                let recomputed = Divergence.mix(parts.map(\.probabilities), weights: parts.map(\.weight))
                rows.append(row(synthesis, "mix_faithfulness", score: Divergence.jensenShannonDistance(predicted, recomputed), [
                    "mix": .array(predicted.map(JSON.double)), "recomputed": .array(recomputed.map(JSON.double)),
                    "parts": .array(parts.map {
                        .object(["community": .string($0.community), "weight": .double($0.weight),
                                 "probabilities": .array($0.probabilities.map(JSON.double)),
                                 "fallback": .bool($0.fallback), "covered_mass": .double($0.coveredMass)])
                    }),
                ]))
            }
        }
        return rows
    }
}
