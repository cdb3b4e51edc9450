import Corpus

/// An item's contents with its audit evidence parsed once, shared by the item's page and
/// the community pages that list it.
struct ItemBundle {
    let contents: ItemContents
    let content: ItemContent
    let audits: [AuditView]
    /// Each row by (method, metric, community): community pages ask for one row per
    /// community, method and item.
    private let byKey: [AuditKey: Int]

    private struct AuditKey: Hashable {
        var method, metric, community: String
    }

    init(_ contents: ItemContents) {
        self.contents = contents
        content = ItemContent(json: contents.item.contentJSON)
        audits = contents.audits.map(AuditView.init)
        byKey = Dictionary(audits.enumerated().map { (AuditKey(method: $1.method, metric: $1.metric, community: $1.community), $0) },
                           uniquingKeysWith: { first, _ in first })
    }

    var id: String { contents.item.id }

    func audits(method: String) -> [AuditView] { audits.filter { $0.method == method } }

    func audit(_ method: String, _ metric: String, _ community: String = "") -> AuditView? {
        byKey[AuditKey(method: method, metric: metric, community: community)].map { audits[$0] }
    }

    /// The answer's final (mixed) distribution, if it has one.
    func answerDistribution(_ method: String) -> DistributionRecord? {
        contents.distributions.first { $0.method == method && $0.community.isEmpty }
    }
}

/// One item: the question, every comment, every method's answer with each sentence marked
/// by the community whose comment supports it (or as unsupported), the scores with their
/// evidence, distributions against gold, and the archived calls behind each answer.
enum ItemPage {
    static let schema = SlotSchema.page([
        "run_href": .link,
        "items_href": .link,
        "run_name": .text,
        "id": .text,
        "mode": .text,
        "pool": .text,
        "question": .text,
        "unreadable": .flag,
        "has_attribute": .flag,
        "attribute": .text,
        "has_population": .flag,
        "population": .text,
        "has_options": .flag,
        "options": .list(SlotSchema(["letter": .text, "text": .text, "gold": .text, "classes": .classes])),
        "has_values": .flag,
        "values": .list(SlotSchema(["value": .text, "explanation": .text])),
        "contents": .list(SlotSchema(["method": .text, "href": .link])),
        "no_comments": .flag,
        "comments": .list(SlotSchema([
            "community": .text, "href": .link, "colour": .classes, "sample": .text, "text": .text,
        ], required: ["text"])),
        "no_answers": .flag,
        "answers": .list(SlotSchema([
            "anchor": .anchor,
            "method": .text,
            "kind": .classes,
            "marked": .flag,
            "sentences": .list(SlotSchema([
                "text": .text, "community": .text, "classes": .classes, "title": .text,
            ], required: ["text", "classes"])),
            "text": .text,
            "has_selection": .flag,
            "selection": .text,
            "selection_reply": .text,
            "has_option": .flag,
            "option": .text,
            "scores": .list(SlotSchema([
                "metric": .text, "community": .text, "score": .text, "detail": .text, "classes": .classes, "evidence": .text,
            ])),
            "has_distribution": .flag,
            "distribution": .chart,
            "has_parts": .flag,
            "has_scores": .flag,
            "parts": .list(SlotSchema([
                "community": .text, "probabilities": .text, "covered_mass": .text, "fallback": .text, "weight": .text,
            ])),
            "calls": .list(SlotSchema([
                "number": .text, "key": .text, "model": .text, "duration": .text, "request": .text, "response": .text,
                "archived": .flag,
            ], required: ["request", "response"])),
        ], required: ["sentences", "text", "calls", "scores"])),
    ], required: ["run_href", "items_href", "question", "comments", "answers"])

    static func slots(_ overview: RunOverview, _ bundle: ItemBundle, calls: [String: ArchivedCall]) -> Slots {
        let run = overview.run
        let item = bundle.contents.item
        let content = bundle.content
        let links = PageLinks(path: .item(run.id, item.id))
        var slots = links.common()
        slots.link("run_href", links.href(.run(run.id)))
        slots.link("items_href", links.href(.items(run.id)))
        slots.text("run_name", run.name)
        slots.text("id", item.id)
        slots.text("mode", item.mode)
        slots.text("pool", item.pool)
        slots.text("question", content.text)
        slots.flag("unreadable", !content.readable)
        slots.flag("has_attribute", content.attribute != nil)
        slots.text("attribute", content.attribute ?? "")
        slots.flag("has_population", content.population != nil)
        slots.text("population", content.population ?? "")
        slots.flag("has_options", !content.options.isEmpty)
        slots.list("options", content.options.enumerated().map { index, option in
            Slots.row { row in
                row.text("letter", Format.letter(index))
                row.text("text", option)
                var gold: [String] = []
                if content.gold == index { gold.append("gold option") }
                if let share = content.goldDistribution?[safe: index] { gold.append("gold share \(Format.probability(share))") }
                row.text("gold", gold.joined(separator: "; "))
                row.classes("classes", content.gold == index ? ["gold-option"] : [])
            }
        })
        slots.flag("has_values", !content.values.isEmpty)
        slots.list("values", content.values.map { value in
            Slots.row {
                $0.text("value", value.value)
                $0.text("explanation", value.explanation)
            }
        })
        slots.flag("no_comments", bundle.contents.comments.isEmpty)
        slots.list("comments", bundle.contents.comments.map { comment in
            Slots.row { row in
                row.text("community", comment.community)
                if overview.communities.contains(where: { $0.name == comment.community }) {
                    row.link("href", links.href(.community(run.id, comment.community)))
                }
                row.classes("colour", [overview.colour(of: comment.community)])
                row.text("sample", comment.sampleIndex == 0 ? "" : "sample \(comment.sampleIndex + 1)")
                row.text("text", comment.text)
            }
        })
        let syntheses = bundle.contents.syntheses.sorted { (Methods.rank($0.method), $0.method) < (Methods.rank($1.method), $1.method) }
        slots.list("contents", syntheses.map { synthesis in
            Slots.row {
                $0.text("method", Methods.label(synthesis.method))
                $0.link("href", "#answer-" + SitePath.segment(for: synthesis.method))
            }
        })
        slots.flag("no_answers", syntheses.isEmpty)
        slots.list("answers", syntheses.map { answer(overview, bundle, $0, calls: calls) })
        return slots
    }

    private static func answer(_ overview: RunOverview, _ bundle: ItemBundle, _ synthesis: SynthesisRecord,
                               calls: [String: ArchivedCall]) -> Slots {
        let content = bundle.content
        let method = synthesis.method
        return Slots.row { row in
            row.anchor("anchor", "answer-" + SitePath.segment(for: method))
            row.text("method", Methods.label(method))
            row.classes("kind", [Methods.kind(method)])
            row.text("text", synthesis.text)
            let sentences = bundle.audit(method, "faithfulness")?.sentences ?? []
            row.flag("marked", !sentences.isEmpty)
            row.list("sentences", sentences.map { sentence in
                Slots.row { line in
                    line.text("text", sentence.text)
                    if sentence.supported, let community = sentence.community {
                        line.text("community", community)
                        line.classes("classes", ["supported", overview.colour(of: community)])
                        line.text("title", "supported by \(community) (support \(Format.score(sentence.support))): "
                            + (sentence.commentSentence ?? ""))
                    } else {
                        line.text("community", "unsupported")
                        line.classes("classes", ["unsupported"])
                        let best = sentence.community.map { " best: \($0), support \(Format.score(sentence.support))" } ?? ""
                        line.text("title", "no comment sentence supports this sentence enough;" + best)
                    }
                }
            })
            if let selected = synthesis.selectedCommunity {
                row.flag("has_selection", true)
                let how = synthesis.selectionParsed == false ? "fallback: the reply did not name a community" : "parsed"
                row.text("selection", "\(selected) (\(how))")
                row.text("selection_reply", synthesis.selectionReply ?? "")
            }
            if let option = synthesis.answerOption {
                row.flag("has_option", true)
                let text = content.options[safe: option].map { ": \($0)" } ?? ""
                row.text("option", Format.letter(option) + text)
            }
            row.flag("has_scores", !bundle.audits(method: method).isEmpty)
            row.list("scores", bundle.audits(method: method).map { audit in
                Slots.row { line in
                    line.text("metric", Format.metric(audit.metric))
                    line.text("community", audit.community)
                    line.text("score", Format.score(audit.score))
                    line.text("detail", audit.detail)
                    if audit.metric == "representation", let represented = audit.represented {
                        line.classes("classes", [represented ? "represented" : "unrepresented"])
                    }
                    // The strongest supporting pair, as the row's tooltip: the community page
                    // lists every pair.
                    if let pair = audit.pairs.first {
                        line.text("evidence", "“\(pair.commentSentence)” → “\(pair.answerSentence)” (support \(Format.score(pair.support)))")
                    }
                }
            })
            let answerDistribution = bundle.answerDistribution(method)
            if !content.options.isEmpty, answerDistribution != nil || content.goldDistribution != nil {
                row.flag("has_distribution", true)
                row.chart("distribution", BarChart(
                    caption: "\(Methods.label(method)): answer distribution over the options against gold",
                    groups: content.options.indices.map { index in
                        var bars = [BarChart.Bar(label: "answer", value: answerDistribution?.probabilities[safe: index],
                                                 style: Methods.modes.contains(method) ? "mp" : "baseline-bar")]
                        if let gold = content.goldDistribution {
                            bars.append(BarChart.Bar(label: "gold", value: gold[safe: index], style: "gold"))
                        } else if let gold = content.gold {
                            bars.append(BarChart.Bar(label: "gold", value: gold == index ? 1 : 0, style: "gold"))
                        }
                        return BarChart.Group(label: Format.letter(index), bars: bars)
                    }))
            }
            let parts = bundle.contents.distributions.filter { $0.method == method }
            row.flag("has_parts", !parts.isEmpty)
            row.list("parts", parts.map { part in
                Slots.row { line in
                    line.text("community", part.community.isEmpty ? "mixed (the answer)" : part.community)
                    line.text("probabilities", part.probabilities.enumerated().map { "\(Format.letter($0)) \(Format.probability($1))" }
                        .joined(separator: "  "))
                    line.text("covered_mass", Format.score(part.coveredMass))
                    line.text("fallback", part.fallback ? "uniform fallback" : "")
                    line.text("weight", Format.score(part.weight))
                }
            })
            row.list("calls", synthesis.callKeys.enumerated().map { index, key in
                Slots.row { line in
                    line.text("number", "\(index + 1) of \(synthesis.callKeys.count)")
                    line.text("key", key)
                    if let call = calls[key] {
                        line.flag("archived", true)
                        line.text("model", [call.backend, call.model, call.baseURL].filter { !$0.isEmpty }.joined(separator: " "))
                        line.text("duration", "\(call.durationMS) ms")
                        line.text("request", call.requestJSON)
                        line.text("response", call.responseJSON)
                    } else {
                        line.text("request", "not in the archive")
                        line.text("response", "not in the archive")
                    }
                }
            })
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
