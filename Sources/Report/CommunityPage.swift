import Corpus

/// One community: who it is, its representation numbers per method, and what it said on
/// every item of its pool, with where each method's answer did or did not represent it and
/// the evidence sentences. Long pools are split into pages of `pageSize` items.
enum CommunityPage {
    static let pageSize = 100

    static let schema = SlotSchema.page([
        "run_href": .link,
        "items_href": .link,
        "run_name": .text,
        "name": .text,
        "pool": .text,
        "colour": .classes,
        "description": .text,
        "model": .text,
        "system_prompt": .text,
        "profile": .text,
        "has_profile": .flag,
        "rates": .list(SlotSchema([
            "method": .text, "kind": .classes, "rate": .text, "mean": .text, "count": .text,
        ])),
        "no_rates": .flag,
        "page_label": .text,
        "pages": .list(SlotSchema(["label": .text, "href": .link, "current": .flag], required: ["href"])),
        "no_items": .flag,
        "items": .list(SlotSchema([
            "id": .text,
            "href": .link,
            "question": .text,
            "comments": .list(SlotSchema(["sample": .text, "text": .text])),
            "no_comment": .flag,
            "methods": .list(SlotSchema([
                "method": .text,
                "kind": .classes,
                "verdict": .text,
                "classes": .classes,
                "score": .text,
                "pairs": .list(SlotSchema(["comment": .text, "answer": .text, "support": .text])),
                "distributions": .text,
            ])),
        ], required: ["href", "comments", "methods"])),
    ], required: ["run_href", "name", "items", "pages"])

    /// How many pages a pool of `count` items takes (at least one, so every community has a page).
    static func pageCount(items count: Int) -> Int { max(1, (count + pageSize - 1) / pageSize) }

    static func slots(_ overview: RunOverview, community: CommunityRecord, page: Int, poolItemCount: Int,
                      firstItem: Int, bundles: [ItemBundle]) -> Slots {
        let run = overview.run
        let links = PageLinks(path: .community(run.id, community.name, page: page))
        var slots = links.common()
        slots.link("run_href", links.href(.run(run.id)))
        slots.link("items_href", links.href(.items(run.id)))
        slots.text("run_name", run.name)
        slots.text("name", community.name)
        slots.text("pool", community.pool)
        slots.classes("colour", [overview.colour(of: community.name)])
        slots.text("description", community.description)
        slots.text("model", JSONValue.parse(community.modelJSON).map(ModelName.describe) ?? community.modelJSON)
        slots.text("system_prompt", community.systemPrompt)
        slots.text("profile", community.profile)
        slots.flag("has_profile", !community.profile.isEmpty)
        let methods = overview.methods.filter { overview.summary($0, "representation_rate", community.name) != nil }
        slots.flag("no_rates", methods.isEmpty)
        slots.list("rates", methods.map { method in
            Slots.row { row in
                let rate = overview.summary(method, "representation_rate", community.name)
                row.text("method", Methods.label(method))
                row.classes("kind", [Methods.kind(method)])
                row.text("rate", Format.score(rate?.value))
                row.text("mean", Format.score(overview.summary(method, "representation", community.name)?.value))
                row.text("count", rate.map { String($0.count) } ?? Format.missing)
            }
        })
        let pages = pageCount(items: poolItemCount)
        slots.text("page_label", poolItemCount == 0
            ? "no items in pool \(community.pool)"
            : "items \(firstItem + 1)–\(firstItem + bundles.count) of \(poolItemCount) in pool \(community.pool)")
        slots.list("pages", pages > 1 ? (1...pages).map { number in
            Slots.row { row in
                row.text("label", String(number))
                row.link("href", links.href(.community(run.id, community.name, page: number)))
                row.flag("current", number == page)
            }
        } : [])
        slots.flag("no_items", bundles.isEmpty)
        slots.list("items", bundles.map { bundle in item(overview, community, bundle, links) })
        return slots
    }

    private static func item(_ overview: RunOverview, _ community: CommunityRecord, _ bundle: ItemBundle, _ links: PageLinks) -> Slots {
        Slots.row { row in
            row.text("id", bundle.id)
            row.link("href", links.href(.item(overview.run.id, bundle.id)))
            row.text("question", bundle.content.text)
            let comments = bundle.contents.comments.filter { $0.community == community.name }
            row.flag("no_comment", comments.isEmpty)
            row.list("comments", comments.map { comment in
                Slots.row {
                    $0.text("sample", comment.sampleIndex == 0 ? "" : "sample \(comment.sampleIndex + 1)")
                    $0.text("text", comment.text)
                }
            })
            let methods = bundle.contents.syntheses.map(\.method).sorted { (Methods.rank($0), $0) < (Methods.rank($1), $1) }
            row.list("methods", methods.map { method in
                Slots.row { line in
                    let audit = bundle.audit(method, "representation", community.name)
                    line.text("method", Methods.label(method))
                    line.classes("kind", [Methods.kind(method)])
                    switch audit?.represented {
                    case true?:
                        line.text("verdict", "represented")
                        line.classes("classes", ["represented"])
                    case false?:
                        line.text("verdict", "not represented")
                        line.classes("classes", ["unrepresented"])
                    case nil:
                        line.text("verdict", audit == nil ? "not audited" : (audit?.reason ?? "no verdict"))
                    }
                    line.text("score", Format.score(audit?.score))
                    line.list("pairs", (audit?.pairs ?? []).map { pair in
                        Slots.row {
                            $0.text("comment", pair.commentSentence)
                            $0.text("answer", pair.answerSentence)
                            $0.text("support", Format.score(pair.support))
                        }
                    })
                    if let evidence = audit?.evidence, let mine = evidence["community_distribution"]?.numbers,
                       let answer = evidence["answer_distribution"]?.numbers {
                        let show = { (values: [Double]) in
                            values.enumerated().map { "\(Format.letter($0)) \(Format.probability($1))" }.joined(separator: " ")
                        }
                        line.text("distributions", "community: \(show(mine)); answer: \(show(answer))")
                    }
                }
            })
        }
    }
}
