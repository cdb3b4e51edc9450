import ArgumentParser
import ContentHash
import Corpus
import Foundation
import Pluralism
import Report

struct BenchReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a large synthetic corpus and time it: pages per second, total time, peak memory.",
        discussion: """
        Writes a synthetic run shaped like a real one into a temporary corpus (by default 10,000 \
        items, a third per mode, 6 communities in one pool that comment on every item, all 6 \
        methods: each item answered by its mode's method and the three baselines, with \
        distributions, archived calls, and audit rows and summaries as docs/audit.md defines \
        them), then renders its site and prints pages/s, the render's total time and the \
        process's peak resident memory during the render. Building the corpus is timed apart.

        Examples:
          pluralism bench report
          pluralism bench report --items 1000 --threads 1
          pluralism bench report --keep /tmp/bench
              keep the corpus and the site in /tmp/bench to look at

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("Items in the synthetic run.", valueName: "n"))
    var items = 10_000

    @Option(name: .long, help: ArgumentHelp("Communities (all comment on every item).", valueName: "n"))
    var communities = 6

    @Option(name: .long, help: ArgumentHelp("Threads rendering pages (default: all cores).", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Keep the corpus and site in this folder (default: a temporary folder, deleted).", valueName: "dir"))
    var keep: String?

    @Option(name: .long, help: ArgumentHelp("The templates folder (default: templates/).", valueName: "dir"))
    var templates: String?

    @Option(name: .long, help: ArgumentHelp("Render this corpus instead of building a synthetic one.", valueName: "file"))
    var corpus: String?

    func validate() throws {
        if items < 1 { throw ValidationError("--items must be at least 1") }
        if communities < 1 || communities > 64 { throw ValidationError("--communities must be between 1 and 64") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let folder = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("pluralism-bench-report-\(UUID().uuidString)").path
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: folder) } }
        do {
            var started = Date()
            let corpus: Corpus
            if let path = self.corpus {
                corpus = try Corpus.open(path: path, readOnly: true)
            } else {
                let corpusPath = folder + "/corpus.sqlite"
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: corpusPath + suffix) }
                corpus = try Corpus.open(path: corpusPath)
                let counts = try SyntheticReportCorpus(items: items, communities: communities).write(to: corpus)
                let size = ((try? FileManager.default.attributesOfItem(atPath: corpusPath)[.size] as? Int) ?? 0) / 1_000_000
                print("synthetic corpus: \(items) items × \(communities) communities × \(Method.allCases.count) methods: "
                    + "\(counts.comments) comments, \(counts.syntheses) answers, \(counts.calls) archived calls, "
                    + "\(counts.audits) audit rows; \(size) MB, built in \(formatDuration(Date().timeIntervalSince(started)))")
            }

            PeakMemory.reset()
            started = Date()
            let workers = threads ?? ProcessInfo.processInfo.activeProcessorCount
            let summary = try renderSite(corpus: corpus, runIDs: nil, out: folder + "/site",
                                         options: SiteOptions(templates: templates, workers: workers))
            let seconds = Date().timeIntervalSince(started)
            let siteSize = Self.bytes(under: summary.folder) / 1_000_000
            print(String(format: "report: %d pages (%d MB) in %.2f s with %d threads: %.0f pages/s; peak resident memory %.0f MB",
                         summary.pages, siteSize, seconds, workers, Double(summary.pages) / seconds, PeakMemory.megabytes()))
        } catch {
            throw ExitStatus.fail(error)
        }
    }

    private static func bytes(under folder: String) -> Int {
        var total = 0
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let name = enumerator?.nextObject() as? String {
            total += (try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int) ?? 0
        }
        return total
    }
}

/// The process's peak resident memory, resettable on Linux so a benchmark measures one phase.
enum PeakMemory {
    /// Resets the kernel's high-water mark (`/proc/self/clear_refs`, Linux 4.0+).
    static func reset() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// VmHWM from /proc/self/status; elsewhere getrusage's maximum.
    static func megabytes() -> Double {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kilobytes / 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// A synthetic run for the report benchmark: the real tables' shapes and sizes, text made of
/// seeded random words, audit rows and summaries following docs/audit.md.
struct SyntheticReportCorpus {
    let items: Int
    let communities: Int
    let runID = "bench-report"

    struct Counts {
        var comments = 0, syntheses = 0, calls = 0, audits = 0
    }

    private static let words = """
        the community holds that people should weigh fairness care liberty duty honesty loyalty harm trust law family \
        work freedom safety tradition change because every person deserves respect while some argue costs matter more \
        than principles and others say the answer depends on context history culture faith reason evidence
        """.split(separator: " ").map(String.init)

    /// A seeded stream of words and numbers (SplitMix64 over a per-purpose seed).
    struct Words {
        var state: UInt64

        init(_ key: String) {
            state = UInt64(SHA256.hex(Array(key.utf8)).prefix(16), radix: 16) ?? 1
        }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func fraction() -> Double { Double(next() >> 11) / Double(1 << 53) }

        mutating func sentence() -> String {
            let count = 8 + Int(next() % 9)
            let text = (0..<count).map { _ in SyntheticReportCorpus.words[Int(next() % UInt64(SyntheticReportCorpus.words.count))] }
                .joined(separator: " ")
            return text.prefix(1).uppercased() + text.dropFirst() + "."
        }

        mutating func sentences(_ count: Int) -> [String] { (0..<count).map { _ in sentence() } }
    }

    static let textMethods = ["overton", "vanilla", "prompting", "moe"]

    func write(to corpus: Corpus) throws -> Counts {
        let names = (1...communities).map { "community-\($0)" }
        let methods = Method.allCases.map(\.rawValue)
        try corpus.insertRun(RunRecord(
            id: runID, name: "bench", configJSON: JSON.object([
                "name": .string("bench"), "methods": .array(methods.map(JSON.string)),
                "base_model": .object(["backend": .string("embedded")]),
            ]).canonical,
            inputHashes: [:], toolVersion: PipelineVersion.current, seed: 1, status: .finished, createdAt: "2026-01-01T00:00:00.000Z"))
        try corpus.insertCommunities(names.enumerated().map { index, name in
            var words = Words("community \(name)")
            return CommunityRecord(runID: runID, name: name, pool: "all", description: words.sentence(),
                                   systemPrompt: "You speak for \(name). " + words.sentence(),
                                   profile: words.sentences(6).joined(separator: " "), modelJSON: #"{"backend":"embedded"}"#, ordinal: index)
        })
        var counts = Counts()
        var totals = SummaryTotals()
        let batch = 250
        for start in stride(from: 0, to: items, by: batch) {
            try corpus.transaction {
                var records: [ItemRecord] = []
                for index in start..<min(start + batch, items) {
                    records.append(item(index).record)
                }
                try corpus.insertItems(records)
                var audits: [AuditRecord] = []
                for index in start..<min(start + batch, items) {
                    audits += try answers(index, names: names, corpus: corpus, counts: &counts, totals: &totals)
                }
                try corpus.insertAudits(audits)
                counts.audits += audits.count
            }
        }
        try corpus.insertAuditSummaries(totals.summaries(runID: runID, communities: names))
        try corpus.setAuditScorer(AuditScorerRecord(
            runID: runID, scorer: "embedding", model: "synthetic",
            thresholdsJSON: #"{"faithfulness":0.5,"representation":0.5,"value_coverage":0.5}"#, metricVersion: "1",
            createdAt: "2026-01-01T00:00:00.000Z"))
        return counts
    }

    private func mode(_ index: Int) -> String { ["overton", "steerable", "distributional"][index % 3] }

    private func item(_ index: Int) -> (record: ItemRecord, text: String, options: [String], gold: [Double], goldOption: Int) {
        let id = String(format: "item-%05d", index)
        var words = Words("item \(index)")
        let text = String(words.sentences(2).joined(separator: " ").dropLast()) + "?"
        var fields: [String: JSON] = ["id": .string(id), "mode": .string(mode(index)), "text": .string(text)]
        var options: [String] = []
        var gold: [Double] = []
        var goldOption = 0
        switch mode(index) {
        case "overton":
            fields["values"] = .array((0..<3).map { _ in .object(["value": .string(words.sentence()), "explanation": .string(words.sentence())]) })
        case "steerable":
            options = ["agree", "disagree", "either"]
            fields["attribute"] = .string(words.sentence())
            fields["options"] = .array(options.map(JSON.string))
            goldOption = Int(words.next() % 3)
            fields["gold"] = .integer(Int64(goldOption))
        default:
            options = (0..<4).map { _ in words.sentence() }
            let raw = (0..<4).map { _ in words.fraction() + 0.05 }
            gold = raw.map { $0 / raw.reduce(0, +) }
            fields["options"] = .array(options.map(JSON.string))
            fields["population"] = .string(["north", "south"][index % 2])
            fields["gold_distribution"] = .array(gold.map(JSON.double))
        }
        let content = JSON.object(fields).canonical
        return (ItemRecord(runID: runID, id: id, mode: mode(index), pool: "all", sourceFile: "\(mode(index)).jsonl",
                           line: index + 1, ordinal: index, contentJSON: content, contentHash: SHA256.hex(Array(content.utf8))),
                text, options, gold, goldOption)
    }

    private func archive(_ corpus: Corpus, _ key: String, system: String, user: String, reply: String, counts: inout Counts) throws {
        try corpus.archiveCall(ArchivedCall(
            key: key, backend: "embedded", baseURL: "", model: "sha256:synthetic",
            requestJSON: JSON.object([
                "messages": .array([.object(["role": .string("system"), "content": .string(system)]),
                                    .object(["role": .string("user"), "content": .string(user)])]),
                "temperature": .double(0.1), "top_p": .double(1), "max_tokens": .integer(200), "seed": .integer(1),
            ]).canonical,
            responseJSON: JSON.object(["text": .string(reply), "finish_reason": .string("stop")]).canonical,
            createdAt: "2026-01-01T00:00:00.000Z", durationMS: 900))
        counts.calls += 1
    }

    private func answers(_ index: Int, names: [String], corpus: Corpus, counts: inout Counts,
                         totals: inout SummaryTotals) throws -> [AuditRecord] {
        let (record, question, options, gold, steeringGold) = item(index)
        let id = record.id
        var words = Words("answers \(index)")
        var comments: [(community: String, sentences: [String])] = []
        for name in names {
            let sentences = words.sentences(3)
            let text = sentences.joined(separator: " ")
            let key = SHA256.hex(Array("comment \(id) \(name)".utf8))
            try archive(corpus, key, system: "You speak for \(name).", user: question, reply: text, counts: &counts)
            try corpus.insertComment(CommentRecord(runID: runID, itemID: id, community: name, sampleIndex: 0, text: text, callKey: key))
            comments.append((name, sentences))
            counts.comments += 1
        }
        let allComments = comments.map { $0.sentences.joined(separator: " ") }.joined(separator: "\n")
        var audits: [AuditRecord] = []
        func audit(_ method: String, _ metric: String, community: String = "", _ score: Double?, _ evidence: [String: JSON]) {
            audits.append(AuditRecord(runID: runID, itemID: id, method: method, metric: metric, community: community, score: score,
                                      evidenceJSON: JSON.object(evidence).canonical))
        }
        let methods = [mode(index), "vanilla", "prompting", "moe"]
        for method in methods {
            var keys: [String] = []
            var synthesis = SynthesisRecord(runID: runID, itemID: id, method: method, text: "")
            if method == "steerable" || method == "moe" {
                let key = SHA256.hex(Array("select \(id) \(method)".utf8))
                let parsed = words.fraction() > 0.1
                let reply = parsed ? String(1 + Int(words.next() % UInt64(names.count))) : words.sentence()
                try archive(corpus, key, system: "Pick the best comment.", user: question + "\n" + allComments, reply: reply, counts: &counts)
                keys.append(key)
                synthesis.selectedCommunity = names[parsed ? (Int(reply)! - 1) : 0]
                synthesis.selectionParsed = parsed
                synthesis.selectionReply = reply
                if !parsed { totals.add(method, "selection_fallbacks", 1) }
            }
            var distributions: [DistributionRecord] = []
            let sentences = words.sentences(3)
            if options.isEmpty {
                synthesis.text = sentences.joined(separator: " ")
                let key = SHA256.hex(Array("answer \(id) \(method)".utf8))
                try archive(corpus, key, system: "Answer with care.", user: question + (method == "overton" ? "\n" + allComments : ""),
                            reply: synthesis.text, counts: &counts)
                keys.append(key)
            } else {
                var mixed: [Double]
                if method == "distributional" {
                    var parts: [[Double]] = []
                    for name in names {
                        let key = SHA256.hex(Array("part \(id) \(name)".utf8))
                        try archive(corpus, key, system: "Choose an option.", user: question, reply: "A", counts: &counts)
                        keys.append(key)
                        let raw = options.map { _ in words.fraction() + 0.01 }
                        let part = raw.map { $0 / raw.reduce(0, +) }
                        let fallback = words.fraction() < 0.02
                        parts.append(part)
                        distributions.append(DistributionRecord(runID: runID, itemID: id, method: method, community: name,
                                                                probabilities: part, coveredMass: 0.7 + 0.3 * words.fraction(),
                                                                fallback: fallback, weight: 1 / Double(names.count)))
                        if fallback { totals.add(method, "distribution_fallbacks", 1) }
                    }
                    mixed = options.indices.map { option in parts.map { $0[option] }.reduce(0, +) / Double(parts.count) }
                } else {
                    let key = SHA256.hex(Array("answer \(id) \(method)".utf8))
                    try archive(corpus, key, system: "Choose an option.", user: question, reply: "B", counts: &counts)
                    keys.append(key)
                    let raw = options.map { _ in words.fraction() + 0.01 }
                    mixed = raw.map { $0 / raw.reduce(0, +) }
                }
                let covered = 0.6 + 0.4 * words.fraction()
                totals.add(method, "covered_mass", covered)
                distributions.append(DistributionRecord(runID: runID, itemID: id, method: method, community: "",
                                                        probabilities: mixed, coveredMass: covered, fallback: false, weight: 1))
                let option = mixed.indices.max { mixed[$0] < mixed[$1] }!
                synthesis.answerOption = option
                synthesis.text = options[option]
                if mode(index) == "steerable" {
                    let goldOption = steeringGold
                    let correct: Double = option == goldOption ? 1 : 0
                    totals.add(method, "accuracy", correct)
                    let selection: JSON = synthesis.selectionParsed.map { .string($0 ? "parsed" : "fallback") } ?? .null
                    let evidence: [String: JSON] = [
                        "predicted": .integer(Int64(option)), "gold": .integer(Int64(goldOption)),
                        "options": .array(options.map(JSON.string)), "selection": selection, "distribution_fallback": .bool(false),
                    ]
                    audit(method, "steering_correct", correct, evidence)
                } else {
                    let js = Self.jsDistance(mixed, gold), uniform = Self.jsDistance(gold.map { _ in 1 / Double(gold.count) }, gold)
                    let goldOption = gold.indices.max { gold[$0] < gold[$1] }!
                    totals.add(method, "js_distance", js, baseline: uniform)
                    totals.add(method, "most_likely_correct", option == goldOption ? 1 : 0, baseline: 1 / Double(gold.count))
                    let evidence: [String: JSON] = [
                        "predicted": .array(mixed.map(JSON.double)), "gold": .array(gold.map(JSON.double)),
                        "population": .string(["north", "south"][index % 2]), "fallback": .bool(false),
                        "covered_mass": .double(covered), "uniform_js": .double(uniform),
                    ]
                    audit(method, "js_distance", js, evidence)
                    audit(method, "most_likely_correct", option == goldOption ? 1 : 0,
                          ["predicted_option": .integer(Int64(option)), "gold_option": .integer(Int64(goldOption))])
                    for comment in comments {
                        let score = words.fraction()
                        totals.represent(method, comment.community, score)
                        let evidence: [String: JSON] = [
                            "threshold": .double(0.5), "represented": .bool(score >= 0.5),
                            "community_distribution": .array(mixed.map(JSON.double)), "answer_distribution": .array(mixed.map(JSON.double)),
                        ]
                        audit(method, "representation", community: comment.community, score, evidence)
                    }
                }
            }
            synthesis.callKeys = keys
            try corpus.insertSynthesis(synthesis, distributions: distributions)
            counts.syntheses += 1
            guard options.isEmpty else { continue }
            if ["overton", "steerable", "moe"].contains(method) {
                var supported = 0
                var marked: [JSON] = []
                for sentence in sentences {
                    let source = comments[Int(words.next() % UInt64(comments.count))]
                    let support = words.fraction()
                    if support >= 0.5 { supported += 1 }
                    let fields: [String: JSON] = [
                        "text": .string(sentence), "community": .string(source.community),
                        "comment_sentence": .string(source.sentences[0]), "support": .double(support), "supported": .bool(support >= 0.5),
                    ]
                    marked.append(.object(fields))
                }
                let score = Double(supported) / Double(sentences.count)
                totals.add(method, "faithfulness", score)
                audit(method, "faithfulness", score, ["threshold": .double(0.5), "sentences": .array(marked)])
            }
            for comment in comments {
                let score = words.fraction()
                totals.represent(method, comment.community, score)
                var pairs: [JSON] = []
                for pair in 0..<3 {
                    let fields: [String: JSON] = [
                        "comment_sentence": .string(comment.sentences[pair]), "answer_sentence": .string(sentences[pair]),
                        "support": .double(score * (1 - 0.1 * Double(pair))),
                    ]
                    pairs.append(.object(fields))
                }
                let evidence: [String: JSON] = ["threshold": .double(0.5), "represented": .bool(score >= 0.5), "pairs": .array(pairs)]
                audit(method, "representation", community: comment.community, score, evidence)
            }
            if mode(index) == "overton" {
                let score = words.fraction()
                totals.add(method, "value_coverage", score)
                totals.add(method, "value_coverage_rate", score >= 0.5 ? 1 : 0)
                let value: [String: JSON] = [
                    "value": .string("v"), "explanation": .string(sentences[0]), "best_sentence": .string(sentences[1]),
                    "support": .double(score),
                ]
                let evidence: [String: JSON] = ["threshold": .double(0.5), "covered": .bool(score >= 0.5), "values": .array([.object(value)])]
                audit(method, "value_coverage", score, evidence)
            }
        }
        return audits
    }

    /// Jensen–Shannon distance with natural logarithms, as docs/audit.md defines it.
    static func jsDistance(_ p: [Double], _ q: [Double]) -> Double {
        func kl(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).reduce(0) { $0 + ($1.0 > 0 ? $1.0 * log($1.0 / $1.1) : 0) }
        }
        let m = zip(p, q).map { ($0 + $1) / 2 }
        return max(0, (kl(p, m) + kl(q, m)) / 2).squareRoot()
    }

    /// Running sums for the per-run rows.
    struct SummaryTotals {
        var sums: [String: (total: Double, count: Int, baseline: Double)] = [:]

        mutating func add(_ method: String, _ metric: String, _ value: Double, baseline: Double = 0) {
            let key = method + "|" + metric
            let old = sums[key] ?? (0, 0, 0)
            sums[key] = (old.total + value, old.count + 1, old.baseline + baseline)
        }

        mutating func represent(_ method: String, _ community: String, _ score: Double) {
            add(method, "representation|" + community, score)
            add(method, "representation_rate|" + community, score >= 0.5 ? 1 : 0)
        }

        func summaries(runID: String, communities: [String]) -> [AuditSummaryRecord] {
            sums.keys.sorted().map { key in
                let parts = key.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                let entry = sums[key]!
                let isCount = parts[1].hasSuffix("_fallbacks")
                let value = isCount ? entry.total : entry.total / Double(entry.count)
                let baseline: Double? = switch parts[1] {
                case "accuracy": 1.0 / 3
                case "js_distance", "most_likely_correct": entry.baseline / Double(entry.count)
                default: nil
                }
                return AuditSummaryRecord(runID: runID, method: parts[0], metric: parts[1], subject: parts.count > 2 ? parts[2] : "",
                                          value: value, count: entry.count, baseline: baseline)
            }
        }
    }
}
