import Corpus

/// The front page: every run in the corpus with its manifest and headline numbers, linking
/// each run's page, item list, community pages and comparisons.
enum IndexPage {
    static let headlineMetrics = ["faithfulness", "value_coverage_rate", "accuracy", "macro_f1", "js_distance", "most_likely_correct"]

    static let cell = SlotSchema(["value": .text, "baseline": .text, "has_baseline": .flag, "count": .text, "classes": .classes])

    static let schema = SlotSchema.page([
        "corpus": .text,
        "run_count": .text,
        "no_runs": .flag,
        "runs": .list(SlotSchema([
            "anchor": .anchor,
            "name": .text,
            "run_href": .link,
            "items_href": .link,
            "status": .text,
            "id": .text,
            "created": .text,
            "tool_version": .text,
            "seed": .text,
            "digest": .text,
            "base_model": .text,
            "models": .list(SlotSchema(["model": .text])),
            "item_count": .text,
            "communities": .list(SlotSchema(["name": .text, "href": .link, "pool": .text, "colour": .classes], required: ["href"])),
            "audit": .text,
            "no_metrics": .flag,
            "columns": .list(SlotSchema(["label": .text, "about": .text])),
            "methods": .list(SlotSchema(["method": .text, "kind": .classes, "cells": .list(cell)])),
            "diffs": .list(SlotSchema(["label": .text, "href": .link], required: ["href"])),
        ], required: ["run_href", "items_href", "communities", "diffs", "id"])),
    ], required: ["runs"])

    struct RunEntry {
        var overview: RunOverview
        var digest: String
        /// (label, the comparison's page) for each comparison involving this run.
        var diffs: [(label: String, path: SitePath)]
    }

    /// The manifest slots the index's run rows and the run page share.
    static func fillManifest(_ slots: inout Slots, _ overview: RunOverview, digest: String) {
        let run = overview.run
        slots.text("status", run.status.rawValue)
        slots.text("id", run.id)
        slots.text("created", run.createdAt)
        slots.text("tool_version", run.toolVersion)
        slots.text("seed", String(run.seed))
        slots.text("digest", digest)
        slots.text("base_model", overview.baseModel)
        slots.list("models", overview.communityModels.map { model in Slots.row { $0.text("model", model) } })
        slots.text("item_count", String(overview.items.count))
    }

    static func slots(corpusName: String, runs: [RunEntry]) -> Slots {
        let links = PageLinks(path: .index)
        var slots = links.common()
        slots.text("corpus", corpusName)
        slots.text("run_count", String(runs.count))
        slots.flag("no_runs", runs.isEmpty)
        slots.list("runs", runs.map { entry in
            let overview = entry.overview
            let run = overview.run
            return Slots.row { row in
                row.anchor("anchor", "run-" + SitePath.segment(for: run.id))
                row.text("name", run.name)
                row.link("run_href", links.href(.run(run.id)))
                row.link("items_href", links.href(.items(run.id)))
                fillManifest(&row, overview, digest: entry.digest)
                row.list("communities", overview.communities.map { community in
                    Slots.row { item in
                        item.text("name", community.name)
                        item.link("href", links.href(.community(run.id, community.name)))
                        item.text("pool", community.pool)
                        item.classes("colour", [overview.colour(of: community.name)])
                    }
                })
                row.text("audit", auditLine(overview))
                let columns = headlineMetrics.filter { metric in overview.summaries.contains { $0.metric == metric && $0.subject.isEmpty } }
                row.flag("no_metrics", columns.isEmpty)
                row.list("columns", columns.map { metric in
                    Slots.row {
                        $0.text("label", Format.metric(metric))
                        $0.text("about", Format.lowerIsBetter(metric) ? "lower is better" : "higher is better")
                    }
                })
                let methods = overview.methods.filter { method in columns.contains { overview.summary(method, $0) != nil } }
                row.list("methods", methods.map { method in
                    Slots.row { line in
                        line.text("method", Methods.label(method))
                        line.classes("kind", [Methods.kind(method)])
                        line.list("cells", columns.map { metric in metricCell(overview.summary(method, metric)) })
                    }
                })
                row.list("diffs", entry.diffs.map { diff in
                    Slots.row {
                        $0.text("label", diff.label)
                        $0.link("href", links.href(diff.path))
                    }
                })
            }
        })
        return slots
    }

    /// A score beside its baseline, marked better or worse than the baseline.
    static func metricCell(_ summary: AuditSummaryRecord?) -> Slots {
        Slots.row { cell in
            cell.text("value", summary.map { Format.summaryValue($0.metric, $0.value) } ?? Format.missing)
            cell.text("count", summary.map { "n = \($0.count)" } ?? "")
            let baseline = summary?.baseline
            cell.flag("has_baseline", baseline != nil)
            cell.text("baseline", Format.score(baseline))
            if let summary, let value = summary.value, let baseline, value != baseline {
                let better = Format.lowerIsBetter(summary.metric) ? value < baseline : value > baseline
                cell.classes("classes", [better ? "better" : "worse"])
            }
        }
    }

    static func auditLine(_ overview: RunOverview) -> String {
        guard let scorer = overview.scorer else {
            return overview.summaries.isEmpty ? "not audited yet" : "audited (no scorer record)"
        }
        return "\(scorer.scorer) scorer, model \(scorer.model), metrics version \(scorer.metricVersion), audited \(scorer.createdAt)"
    }
}
