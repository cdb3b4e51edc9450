/// Run B compared with run A: items added, removed and changed; the change in each
/// community's representation rate per method and in each metric's mean, each with its
/// paired bootstrap interval; and the largest per-item changes.
enum DiffPage {
    static let side = SlotSchema(["name": .text, "id": .text, "created": .text, "corpus": .text, "href": .link, "items": .text])
    static let change = SlotSchema([
        "community": .text, "method": .text, "metric": .text, "kind": .classes, "a": .text, "b": .text, "change": .text,
        "interval": .text, "pairs": .text, "note": .text, "classes": .classes,
    ])

    static let schema = SlotSchema.page([
        "a": .list(side),
        "b": .list(side),
        "settings": .text,
        "summary": .text,
        "added": .list(SlotSchema(["id": .text, "href": .link])),
        "removed": .list(SlotSchema(["id": .text, "href": .link])),
        "changed": .list(SlotSchema(["id": .text, "href": .link])),
        "no_representation": .flag,
        "representation": .list(change),
        "representation_chart": .chart,
        "no_metrics": .flag,
        "metrics": .list(change),
        "no_item_changes": .flag,
        "item_changes": .list(SlotSchema([
            "id": .text, "href": .link, "method": .text, "metric": .text, "community": .text, "a": .text, "b": .text,
            "change": .text,
        ])),
    ], required: ["a", "b", "representation", "metrics", "item_changes", "added", "removed", "changed"])

    /// - Parameter inSite: whether both runs' pages are in the same site (then items link to them).
    static func slots(_ diff: RunDiff, at path: SitePath, inSite: Bool) -> Slots {
        let links = PageLinks(path: path)
        var slots = links.common()
        func sideRow(_ side: RunDiff.Side) -> [Slots] {
            [Slots.row { row in
                row.text("name", side.name)
                row.text("id", side.runID)
                row.text("created", side.createdAt)
                row.text("corpus", side.corpus.lastComponent)
                row.text("items", String(side.items))
                if inSite { row.link("href", links.href(.run(side.runID))) }
            }]
        }
        slots.list("a", sideRow(diff.a))
        slots.list("b", sideRow(diff.b))
        slots.text("settings", "Paired bootstrap over the matched items: \(diff.resamples) resamples, seed \(diff.seed), "
            + "95% percentile intervals of the mean change (B − A).")
        slots.text("summary", "\(diff.matched.count) items matched by id (\(diff.changed.count) with changed content), "
            + "\(diff.added.count) added in B, \(diff.removed.count) removed from A.")
        func itemRows(_ ids: [String], run: String) -> [Slots] {
            ids.map { id in
                Slots.row { row in
                    row.text("id", id)
                    if inSite { row.link("href", links.href(.item(run, id))) }
                }
            }
        }
        slots.list("added", itemRows(diff.added, run: diff.b.runID))
        slots.list("removed", itemRows(diff.removed, run: diff.a.runID))
        slots.list("changed", itemRows(diff.changed, run: diff.b.runID))
        slots.flag("no_representation", diff.representation.isEmpty)
        slots.list("representation", diff.representation.map(changeRow))
        slots.chart("representation_chart", IntervalChart(
            caption: "Change in representation rate (B − A) with 95% intervals",
            rows: diff.representation.map { change in
                IntervalChart.Row(label: "\(change.community) · \(Methods.label(change.method))", change: change.change,
                                  interval: change.interval)
            }))
        slots.flag("no_metrics", diff.metrics.isEmpty)
        slots.list("metrics", diff.metrics.map(changeRow))
        slots.flag("no_item_changes", diff.itemChanges.isEmpty)
        slots.list("item_changes", diff.itemChanges.map { change in
            Slots.row { row in
                row.text("id", change.itemID)
                if inSite { row.link("href", links.href(.item(diff.b.runID, change.itemID))) }
                row.text("method", Methods.label(change.method))
                row.text("metric", Format.metric(change.metric))
                row.text("community", change.community)
                row.text("a", Format.score(change.a))
                row.text("b", Format.score(change.b))
                row.text("change", Format.signed(change.change))
            }
        })
        return slots
    }

    private static func changeRow(_ change: RunDiff.Change) -> Slots {
        Slots.row { row in
            row.text("community", change.community)
            row.text("method", Methods.label(change.method))
            row.text("metric", Format.metric(change.metric))
            row.classes("kind", [Methods.kind(change.method)])
            row.text("a", Format.score(change.meanA))
            row.text("b", Format.score(change.meanB))
            row.text("change", Format.signed(change.change))
            row.text("interval", Format.interval(change.interval))
            row.text("pairs", String(change.pairs))
            row.text("note", change.note)
            // An interval that excludes zero is a change the resampling does not explain away.
            if let interval = change.interval, interval.low > 0 || interval.high < 0 {
                let up = interval.low > 0
                let better = Format.lowerIsBetter(change.metric) ? !up : up
                row.classes("classes", [better ? "better" : "worse"])
            }
        }
    }
}

extension String {
    /// The file name of a path (the diff page names corpora by file, not by a machine's folders).
    fileprivate var lastComponent: String { split(separator: "/").last.map(String.init) ?? self }
}
