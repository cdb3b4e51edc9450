import Corpus

/// An audit row with its evidence parsed (docs/audit.md defines each metric's evidence).
/// Evidence that does not parse is kept as nil; pages then say so rather than guess.
struct AuditView: Sendable {
    let record: AuditRecord
    let evidence: JSONValue?

    init(_ record: AuditRecord) {
        self.record = record
        evidence = JSONValue.parse(record.evidenceJSON)
    }

    var method: String { record.method }
    var metric: String { record.metric }
    var community: String { record.community }
    var score: Double? { record.score }

    /// The threshold the audit applied, when the evidence records one.
    var threshold: Double? { evidence?["threshold"]?.number }

    /// Why the score is NULL, when the evidence says.
    var reason: String? { evidence?["reason"]?.string }

    /// `representation`: whether the community is represented.
    var represented: Bool? { evidence?["represented"]?.bool }

    /// One answer sentence of a `faithfulness` row.
    struct Sentence: Sendable {
        var text: String
        var community: String?
        var commentSentence: String?
        var support: Double?
        var supported: Bool
    }

    var sentences: [Sentence] {
        evidence?["sentences"]?.array?.compactMap { sentence in
            guard let text = sentence["text"]?.string else { return nil }
            return Sentence(
                text: text, community: sentence["community"]?.string, commentSentence: sentence["comment_sentence"]?.string,
                support: sentence["support"]?.number, supported: sentence["supported"]?.bool ?? false)
        } ?? []
    }

    /// One (comment sentence, answer sentence) pair of a text `representation` row.
    struct Pair: Sendable {
        var commentSentence: String
        var answerSentence: String
        var support: Double?
    }

    var pairs: [Pair] {
        evidence?["pairs"]?.array?.compactMap { pair in
            guard let comment = pair["comment_sentence"]?.string, let answer = pair["answer_sentence"]?.string else { return nil }
            return Pair(commentSentence: comment, answerSentence: answer, support: pair["support"]?.number)
        } ?? []
    }

    /// One line on what the score rests on, for score tables.
    var detail: String {
        guard let evidence else { return "evidence unreadable" }
        if score == nil { return "not scored: " + (reason ?? "no reason recorded") }
        let threshold = self.threshold.map { " (threshold \(Format.score($0)))" } ?? ""
        switch metric {
        case "faithfulness":
            let sentences = self.sentences
            return "\(sentences.filter(\.supported).count) of \(sentences.count) sentences supported by a comment\(threshold)"
        case "representation":
            guard let represented else { return "no verdict recorded" }
            return (represented ? "represented" : "not represented") + threshold
        case "value_coverage":
            guard let covered = evidence["covered"]?.bool else { return "no verdict recorded" }
            return (covered ? "covered" : "not covered") + threshold
        case "steering_correct":
            var text = "predicted \(option(evidence["predicted"])), gold \(option(evidence["gold"]))"
            if let selection = evidence["selection"]?.string { text += "; selection \(selection)" }
            if evidence["distribution_fallback"]?.bool == true { text += "; distribution fell back to uniform" }
            return text
        case "js_distance":
            var text = "uniform guess: \(Format.score(evidence["uniform_js"]?.number))"
            if let population = evidence["population"]?.string { text += "; population \(population)" }
            if evidence["fallback"]?.bool == true { text += "; fell back to uniform" }
            return text
        case "most_likely_correct":
            return "predicted \(option(evidence["predicted_option"])), gold \(option(evidence["gold_option"]))"
        case "mix_faithfulness":
            return "JS distance between the stored mix and the mix of its parts"
        default:
            return ""
        }
    }

    private func option(_ value: JSONValue?) -> String {
        if let index = value?.integer { return Format.letter(index) }
        if let text = value?.string { return text }
        return Format.missing
    }
}
