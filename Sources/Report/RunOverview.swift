import Corpus
import Foundation

/// What every page of a run needs, read once per render: the manifest, communities, the
/// items' headers and the audit's per-run numbers. Item contents are read a slice at a time.
struct RunOverview: Sendable {
    let run: RunRecord
    let communities: [CommunityRecord]
    let items: [ItemHeader]
    let summaries: [AuditSummaryRecord]
    let scorer: AuditScorerRecord?
    /// Methods with answers or audit numbers, modes first, then baselines, then any other.
    let methods: [String]
    let config: JSONValue?

    /// An item's identity and question, for lists and links.
    struct ItemHeader: Sendable {
        let id: String
        let mode: String
        let pool: String
        let contentHash: String
        let content: ItemContent
    }

    init(corpus: Corpus, runID: String) throws {
        guard let run = try corpus.run(id: runID) else { throw CorpusError.unknownRun(id: runID) }
        self.run = run
        communities = try corpus.communities(runID: runID)
        items = try corpus.items(runID: runID).map {
            ItemHeader(id: $0.id, mode: $0.mode, pool: $0.pool, contentHash: $0.contentHash, content: ItemContent(json: $0.contentJSON))
        }
        summaries = try corpus.auditSummaries(runID: runID)
        scorer = try corpus.auditScorer(runID: runID)
        config = JSONValue.parse(run.configJSON)
        let configured = config?["methods"]?.array?.compactMap(\.string) ?? []
        methods = Methods.ordered(Set(configured + (try corpus.synthesisMethods(runID: runID)) + summaries.map(\.method)))
    }

    /// The communities of a pool, in configuration order.
    func communities(inPool pool: String) -> [CommunityRecord] { communities.filter { $0.pool == pool } }

    /// The community's colour class (`c0`…`c11`, by position in the configuration).
    func colour(of community: String) -> String {
        guard let index = communities.firstIndex(where: { $0.name == community }) else { return "c-none" }
        return "c\(index % 12)"
    }

    func summary(_ method: String, _ metric: String, _ subject: String = "") -> AuditSummaryRecord? {
        summaries.first { $0.method == method && $0.metric == metric && $0.subject == subject }
    }

    /// The base model as the configuration names it.
    var baseModel: String { config?["base_model"].map(ModelName.describe) ?? "–" }

    /// Each distinct community model, in configuration order.
    var communityModels: [String] {
        var seen: [String] = []
        for community in communities {
            let name = JSONValue.parse(community.modelJSON).map(ModelName.describe) ?? community.modelJSON
            if !seen.contains(name) { seen.append(name) }
        }
        return seen
    }
}

/// A model specification as one line: backend, model and server.
enum ModelName {
    static func describe(_ spec: JSONValue) -> String {
        let backend = spec["backend"]?.string ?? "?"
        var parts = [backend]
        if let model = spec["model"]?.string { parts.append(model) } else if backend == "embedded" { parts.append("default model") }
        if let url = spec["base_url"]?.string { parts.append("at " + url) }
        return parts.joined(separator: " ")
    }
}

/// The fields of an item's canonical content JSON the pages show.
struct ItemContent: Sendable {
    var text = ""
    var options: [String] = []
    var gold: Int?
    var values: [(value: String, explanation: String)] = []
    var attribute: String?
    var population: String?
    var goldDistribution: [Double]?
    /// False when the stored JSON did not parse (the page says so).
    var readable = true

    init(json: String) {
        guard let content = JSONValue.parse(json) else {
            readable = false
            return
        }
        text = content["text"]?.string ?? ""
        options = content["options"]?.array?.compactMap(\.string) ?? []
        gold = content["gold"]?.integer
        values = content["values"]?.array?.compactMap { value in
            guard let name = value["value"]?.string else { return nil }
            return (name, value["explanation"]?.string ?? "")
        } ?? []
        attribute = content["attribute"]?.string
        population = content["population"]?.string
        goldDistribution = content["gold_distribution"]?.numbers
    }
}

/// Method names and their order on every page.
enum Methods {
    /// The pluralism modes, then the baselines (the order of the paper's tables).
    static let known = ["overton", "steerable", "distributional", "vanilla", "prompting", "moe"]
    static let modes: Set<String> = ["overton", "steerable", "distributional"]

    static func ordered(_ methods: Set<String>) -> [String] {
        known.filter(methods.contains) + methods.subtracting(known).sorted()
    }

    static func rank(_ method: String) -> Int { known.firstIndex(of: method) ?? known.count }

    /// `mp-method` for the modular pluralism modes, `baseline-method` for the rest.
    static func kind(_ method: String) -> String { modes.contains(method) ? "mp-method" : "baseline-method" }

    static func label(_ method: String) -> String {
        switch method {
        case "moe": "MoE"
        default: method
        }
    }
}

/// How numbers appear on pages and in the diff's text: fixed decimals, so pages are
/// byte-identical across machines and the tests can find the numbers.
enum Format {
    static let missing = "–"

    static func score(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        return fixed(value, decimals: 3)
    }

    static func signed(_ value: Double?) -> String {
        guard let value, value.isFinite else { return missing }
        let text = fixed(value, decimals: 3)
        return text.hasPrefix("-") ? text : "+" + text
    }

    /// `value` rounded to `decimals` places (half away from zero) and written without
    /// exponent; a value that rounds to zero has no minus sign. Pages print tens of millions
    /// of numbers on a large run, and `String(format:)` was a tenth of the render time.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return missing }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return String(value) }
        let units = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = units == 0 || value >= 0 ? "" : "-"
        text += String(units / divisor)
        if decimals > 0 {
            let fraction = String(units % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    static func interval(_ interval: Interval?) -> String {
        guard let interval else { return missing }
        return "[\(signed(interval.low)), \(signed(interval.high))]"
    }

    static func probability(_ value: Double) -> String { score(value) }

    static func letter(_ index: Int) -> String {
        index >= 0 && index < 26 ? String(UnicodeScalar(UInt8(65 + index))) : "#\(index + 1)"
    }

    /// A metric's name as a heading.
    static func metric(_ metric: String) -> String {
        switch metric {
        case "faithfulness": "faithfulness"
        case "mix_faithfulness": "mix faithfulness (JS)"
        case "representation": "representation"
        case "representation_rate": "representation rate"
        case "value_coverage": "value coverage"
        case "value_coverage_rate": "value coverage rate"
        case "steering_correct": "steering correct"
        case "accuracy": "accuracy"
        case "balanced_accuracy": "balanced accuracy"
        case "macro_f1": "macro-F1"
        case "macro_f1_binary": "macro-F1 (binary)"
        case "selection_fallbacks": "selection fallbacks"
        case "js_distance": "JS distance"
        case "most_likely_correct": "most likely correct"
        case "distribution_fallbacks": "distribution fallbacks"
        case "covered_mass": "covered mass"
        default: metric.replacingOccurrences(of: "_", with: " ")
        }
    }

    /// Whether a smaller value is better (distances), for marking a score against its baseline.
    static func lowerIsBetter(_ metric: String) -> Bool {
        ["js_distance", "mix_faithfulness", "selection_fallbacks", "distribution_fallbacks"].contains(metric)
    }

    /// Counts are whole numbers; everything else has three decimals.
    static func summaryValue(_ metric: String, _ value: Double?) -> String {
        if metric.hasSuffix("_fallbacks"), let value, value == value.rounded() { return String(Int(value)) }
        return score(value)
    }
}
