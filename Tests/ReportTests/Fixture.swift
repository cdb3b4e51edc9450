import ContentHash
import Corpus
import Foundation
import Pluralism
@testable import Report

/// A fresh folder under the system temp folder, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("report-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The repository's `templates/` folder.
let builtInTemplates: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("templates").path

/// A small run written through the Corpus API, shaped like a real one: items of each mode,
/// comments from the item's pool, an answer from each method that applies, distributions for
/// multiple-choice answers, the archived calls behind them, and audit rows and summaries as
/// docs/audit.md defines them. Scores vary by item, method and community, deterministically.
struct FixtureRun {
    var runID = "run-a"
    var name = "fixture"
    var createdAt = "2026-01-01T00:00:00.000Z"
    var communities: [(name: String, pool: String)] = [
        ("left", "perspective"), ("right", "perspective"), ("south", "culture"), ("north", "culture"),
    ]
    var overtonItems = ["o1", "o2", "o3"]
    var steerableItems = ["s1", "s2"]
    var distributionalItems = ["d1", "d2"]
    /// Items whose wording differs from the base fixture (a changed content hash).
    var reworded: Set<String> = []
    /// Appended to every text from inputs or models (questions, options, comments, answers,
    /// replies, profiles, evidence sentences, archived requests and responses).
    var hostile: String?
    /// Whether audit rows, summaries and the scorer record are written.
    var audited = true
    /// Added to the chance that a community counts as represented (a better run B).
    var representationBias = 0.0

    static let methods = ["overton", "steerable", "distributional", "vanilla", "prompting", "moe"]
    static let threshold = 0.5

    func text(_ base: String) -> String { hostile.map { base + " " + $0 } ?? base }

    /// A number in [0, 1) from a key: varied, and the same on every run of the tests.
    static func fraction(_ key: String) -> Double {
        Double(UInt64(SHA256.hex(key).prefix(12), radix: 16)!) / Double(1 << 48)
    }

    var items: [(id: String, mode: String, pool: String)] {
        overtonItems.map { ($0, "overton", "perspective") } + steerableItems.map { ($0, "steerable", "perspective") }
            + distributionalItems.map { ($0, "distributional", "culture") }
    }

    func pool(_ pool: String) -> [String] { communities.filter { $0.pool == pool }.map(\.name) }

    func options(_ mode: String) -> [String] {
        switch mode {
        case "steerable": [text("agree"), text("disagree"), "either"]
        case "distributional": [text("yes"), "no"]
        default: []
        }
    }

    func content(_ id: String, _ mode: String) -> JSON {
        var fields: [String: JSON] = ["id": .string(id), "mode": .string(mode),
                                      "text": .string(text("Question \(id)" + (reworded.contains(id) ? ", reworded" : "") + "?"))]
        let options = self.options(mode)
        if !options.isEmpty { fields["options"] = .array(options.map(JSON.string)) }
        switch mode {
        case "overton":
            fields["values"] = .array([
                .object(["value": .string(text("honesty")), "explanation": .string("Telling the truth matters.")]),
                .object(["value": .string("care"), "explanation": .string("Harm should be avoided.")]),
            ])
        case "steerable":
            fields["attribute"] = .string(text("fairness"))
            fields["gold"] = .integer(Int64(Int(Self.fraction("gold" + id) * 3)))
        default:
            fields["population"] = .string("everyone")
            let first = 0.2 + 0.6 * Self.fraction("pop" + id)
            fields["gold_distribution"] = .array([.double(first), .double(1 - first)])
        }
        return .object(fields)
    }

    func applies(_ method: String, _ mode: String) -> Bool {
        ["vanilla", "prompting", "moe"].contains(method) || method == mode
    }

    func key(_ parts: String...) -> String { SHA256.hex(([runID] + parts).joined(separator: "|")) }

    func write(to corpus: Corpus) throws {
        let configMethods: [JSON] = Self.methods.map(JSON.string)
        try corpus.insertRun(RunRecord(
            id: runID, name: name,
            configJSON: JSON.object([
                "name": .string(name), "methods": .array(configMethods),
                "base_model": .object(["backend": .string("embedded")]),
            ]).canonical,
            inputHashes: ["run.json": "00"], toolVersion: "0.1.0", seed: 7, status: .finished, createdAt: createdAt))
        try corpus.insertCommunities(communities.enumerated().map { index, community in
            CommunityRecord(runID: runID, name: community.name, pool: community.pool, description: text("\(community.name) voice"),
                            systemPrompt: text("You speak for \(community.name)."), profile: text("We are \(community.name)."),
                            modelJSON: #"{"backend":"embedded"}"#, ordinal: index)
        })
        try corpus.insertItems(items.enumerated().map { index, item in
            let content = self.content(item.id, item.mode).canonical
            return ItemRecord(runID: runID, id: item.id, mode: item.mode, pool: item.pool, sourceFile: "\(item.mode).jsonl",
                              line: index + 1, ordinal: index, contentJSON: content, contentHash: SHA256.hex(content))
        })
        var audits: [AuditRecord] = []
        for item in items {
            let voices = pool(item.pool)
            for community in voices {
                let callKey = key("comment", item.id, community)
                try archive(corpus, callKey, prompt: "comment on \(item.id)", reply: comment(item.id, community))
                try corpus.insertComment(CommentRecord(runID: runID, itemID: item.id, community: community, sampleIndex: 0,
                                                       text: comment(item.id, community), callKey: callKey))
            }
            for method in Self.methods where applies(method, item.mode) {
                audits += try answer(corpus, item, method, voices)
            }
        }
        guard audited else { return }
        try corpus.insertAudits(audits)
        try corpus.insertAuditSummaries(summaries(audits))
        try corpus.setAuditScorer(AuditScorerRecord(
            runID: runID, scorer: "embedding", model: "all-MiniLM-L6-v2 test",
            thresholdsJSON: #"{"faithfulness":0.5,"representation":0.5,"value_coverage":0.5}"#, metricVersion: "1",
            createdAt: createdAt))
    }

    func comment(_ item: String, _ community: String) -> String {
        text("\(community) on \(item): first point.") + " Second point from \(community)."
    }

    private func archive(_ corpus: Corpus, _ key: String, prompt: String, reply: String) throws {
        try corpus.archiveCall(ArchivedCall(
            key: key, backend: "embedded", baseURL: "", model: "smollm2-test",
            requestJSON: JSON.object(["messages": .array([.object(["role": .string("user"), "content": .string(text(prompt))])])]).canonical,
            responseJSON: JSON.object(["text": .string(reply)]).canonical, createdAt: createdAt, durationMS: 42))
    }

    /// Stores one method's answer to an item and returns its audit rows.
    private func answer(_ corpus: Corpus, _ item: (id: String, mode: String, pool: String), _ method: String,
                        _ voices: [String]) throws -> [AuditRecord] {
        let options = self.options(item.mode)
        let choice = !options.isEmpty
        var calls: [String] = []
        var synthesis = SynthesisRecord(runID: runID, itemID: item.id, method: method, text: "")
        if method == "steerable" || method == "moe" {
            let selectKey = key("select", item.id, method)
            let parsed = Self.fraction("parsed" + item.id + method) > 0.3
            let reply = parsed ? "2" : text("I cannot choose")
            try archive(corpus, selectKey, prompt: "select for \(item.id)", reply: reply)
            calls.append(selectKey)
            synthesis.selectedCommunity = parsed && voices.count > 1 ? voices[1] : voices[0]
            synthesis.selectionParsed = parsed
            synthesis.selectionReply = reply
        }
        var distributions: [DistributionRecord] = []
        let sentences = [text("\(method) answer to \(item.id) opens."), "It weighs the views."]
        if choice {
            let first = Self.fraction("dist" + item.id + method)
            var mixed = [first] + Array(repeating: (1 - first) / Double(options.count - 1), count: options.count - 1)
            if method == "distributional" {
                for (index, community) in voices.enumerated() {
                    let partKey = key("part", item.id, community)
                    try archive(corpus, partKey, prompt: "distribution of \(community)", reply: "A")
                    calls.append(partKey)
                    let share = Self.fraction("part" + item.id + community)
                    distributions.append(DistributionRecord(
                        runID: runID, itemID: item.id, method: method, community: community, probabilities: [share, 1 - share],
                        coveredMass: 0.9, fallback: index == 1, weight: 1 / Double(voices.count)))
                }
                let parts = distributions.map(\.probabilities)
                mixed = [parts.map { $0[0] }.reduce(0, +) / Double(parts.count), parts.map { $0[1] }.reduce(0, +) / Double(parts.count)]
            }
            let answerKey = key("answer", item.id, method)
            if method != "distributional" {
                try archive(corpus, answerKey, prompt: "answer \(item.id)", reply: "A")
                calls.append(answerKey)
            }
            distributions.append(DistributionRecord(runID: runID, itemID: item.id, method: method, community: "",
                                                    probabilities: mixed, coveredMass: 0.8, fallback: false, weight: 1))
            let option = mixed.indices.max { mixed[$0] < mixed[$1] }!
            synthesis.answerOption = option
            synthesis.text = options[option]
        } else {
            let answerKey = key("answer", item.id, method)
            synthesis.text = sentences.joined(separator: " ")
            try archive(corpus, answerKey, prompt: "answer \(item.id)", reply: synthesis.text)
            calls.append(answerKey)
        }
        synthesis.callKeys = calls
        try corpus.insertSynthesis(synthesis, distributions: distributions)
        return audits(item, method, voices, sentences: sentences, synthesis: synthesis, distributions: distributions)
    }

    func represented(_ item: String, _ method: String, _ community: String) -> (score: Double, represented: Bool) {
        let score = min(1, Self.fraction("rep" + item + method + community) + representationBias)
        return (score, score >= Self.threshold)
    }

    private func audits(_ item: (id: String, mode: String, pool: String), _ method: String, _ voices: [String],
                        sentences: [String], synthesis: SynthesisRecord, distributions: [DistributionRecord]) -> [AuditRecord] {
        var rows: [AuditRecord] = []
        func row(_ metric: String, community: String = "", _ score: Double?, _ evidence: [String: JSON]) {
            rows.append(AuditRecord(runID: runID, itemID: item.id, method: method, metric: metric, community: community,
                                    score: score, evidenceJSON: JSON.object(evidence).canonical))
        }
        let options = self.options(item.mode)
        if options.isEmpty {
            if ["overton", "steerable", "moe"].contains(method) {
                var marked: [JSON] = []
                var supported = 0
                for (index, sentence) in sentences.enumerated() {
                    let support = Self.fraction("faith" + item.id + method + "\(index)")
                    let community = voices[index % voices.count]
                    if support >= Self.threshold { supported += 1 }
                    let fields: [String: JSON] = [
                        "text": .string(sentence), "community": .string(community),
                        "comment_sentence": .string(text("\(community) on \(item.id): first point.")),
                        "support": .double(support), "supported": .bool(support >= Self.threshold),
                    ]
                    marked.append(.object(fields))
                }
                let evidence: [String: JSON] = ["threshold": .double(Self.threshold), "sentences": .array(marked)]
                row("faithfulness", Double(supported) / Double(marked.count), evidence)
            }
            for community in voices {
                let verdict = represented(item.id, method, community)
                let pair: [String: JSON] = [
                    "comment_sentence": .string(text("\(community) on \(item.id): first point.")),
                    "answer_sentence": .string(sentences[0]), "support": .double(verdict.score),
                ]
                let evidence: [String: JSON] = [
                    "threshold": .double(Self.threshold), "represented": .bool(verdict.represented), "pairs": .array([.object(pair)]),
                ]
                row("representation", community: community, verdict.score, evidence)
            }
            if item.mode == "overton" {
                let score = Self.fraction("cover" + item.id + method)
                let value: [String: JSON] = [
                    "value": .string(text("honesty")), "explanation": .string("Telling the truth matters."),
                    "best_sentence": .string(sentences[0]), "support": .double(score),
                ]
                let evidence: [String: JSON] = [
                    "threshold": .double(Self.threshold), "covered": .bool(score >= Self.threshold), "values": .array([.object(value)]),
                ]
                row("value_coverage", score, evidence)
            }
        } else if item.mode == "steerable" {
            let gold = Int(Self.fraction("gold" + item.id) * 3)
            let predicted = synthesis.answerOption ?? 0
            let selection: JSON = synthesis.selectionParsed.map { .string($0 ? "parsed" : "fallback") } ?? .null
            let evidence: [String: JSON] = [
                "predicted": .integer(Int64(predicted)), "gold": .integer(Int64(gold)), "options": .array(options.map(JSON.string)),
                "selection": selection, "distribution_fallback": .bool(false),
            ]
            row("steering_correct", predicted == gold ? 1 : 0, evidence)
        } else {
            let first = 0.2 + 0.6 * Self.fraction("pop" + item.id)
            let gold = [first, 1 - first]
            let answer = distributions.last!.probabilities
            let js = abs(answer[0] - gold[0]) / 2
            let evidence: [String: JSON] = [
                "predicted": .array(answer.map(JSON.double)), "gold": .array(gold.map(JSON.double)), "population": .string("everyone"),
                "fallback": .bool(false), "covered_mass": .double(0.8), "uniform_js": .double(abs(0.5 - gold[0]) / 2),
            ]
            row("js_distance", js, evidence)
            let predicted = answer[0] >= answer[1] ? 0 : 1, goldOption = gold[0] >= gold[1] ? 0 : 1
            row("most_likely_correct", predicted == goldOption ? 1 : 0,
                ["predicted_option": .integer(Int64(predicted)), "gold_option": .integer(Int64(goldOption))])
            for community in voices {
                let verdict = represented(item.id, method, community)
                let evidence: [String: JSON] = [
                    "threshold": .double(Self.threshold), "represented": .bool(verdict.represented),
                    "community_distribution": .array([.double(0.5), .double(0.5)]), "answer_distribution": .array(answer.map(JSON.double)),
                ]
                row("representation", community: community, verdict.score, evidence)
            }
        }
        return rows
    }

    /// Per-run numbers computed from the per-item rows, as the audit stage would.
    func summaries(_ audits: [AuditRecord]) -> [AuditSummaryRecord] {
        var summaries: [AuditSummaryRecord] = []
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        for method in Self.methods {
            let mine = audits.filter { $0.method == method }
            for metric in ["faithfulness", "value_coverage"] {
                let scores = mine.filter { $0.metric == metric }.compactMap(\.score)
                if !scores.isEmpty {
                    summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: metric, value: mean(scores), count: scores.count))
                }
            }
            let coverage = mine.filter { $0.metric == "value_coverage" }.compactMap(\.score)
            if !coverage.isEmpty {
                summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: "value_coverage_rate",
                                                    value: mean(coverage.map { $0 >= Self.threshold ? 1 : 0 }), count: coverage.count))
            }
            let steering = mine.filter { $0.metric == "steering_correct" }.compactMap(\.score)
            if !steering.isEmpty {
                summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: "accuracy", value: mean(steering),
                                                    count: steering.count, baseline: 0.5))
            }
            let js = mine.filter { $0.metric == "js_distance" }.compactMap(\.score)
            if !js.isEmpty {
                summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: "js_distance", value: mean(js), count: js.count,
                                                    baseline: 0.1))
                summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: "js_distance", subject: "everyone",
                                                    value: mean(js), count: js.count, baseline: 0.1))
            }
            for community in communities.map(\.name) {
                let rows = mine.filter { $0.metric == "representation" && $0.community == community }
                guard !rows.isEmpty else { continue }
                let verdicts = rows.map { JSONValue.parse($0.evidenceJSON)?["represented"]?.bool == true ? 1.0 : 0.0 }
                summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: "representation_rate", subject: community,
                                                    value: mean(verdicts), count: rows.count))
                summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: "representation", subject: community,
                                                    value: mean(rows.compactMap(\.score)), count: rows.count))
            }
            if method == "steerable" || method == "moe" {
                summaries.append(AuditSummaryRecord(runID: runID, method: method, metric: "selection_fallbacks", value: 1, count: 5))
            }
        }
        return summaries
    }
}

/// Every file under a folder (relative path → bytes).
func filesUnder(_ folder: String) throws -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    let enumerator = FileManager.default.enumerator(atPath: folder)
    while let relative = enumerator?.nextObject() as? String {
        let path = (folder as NSString).appendingPathComponent(relative)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
            files[relative] = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }
    return files
}
