import Corpus
import Foundation

/// A run's page: its manifest, then the audit's per-run numbers by mode, each beside the
/// trivial baseline the audit computed (the `baseline` column of `audit_summary`), with the
/// charts that go with them. Every number here is read from `audit_summary`, except the
/// faithfulness histograms, which count the per-item scores of `audit`.
enum RunPage {
    static let cell = IndexPage.cell

    static let table = SlotSchema([
        "caption": .text,
        "columns": .list(SlotSchema(["label": .text, "about": .text])),
        "rows": .list(SlotSchema(["label": .text, "href": .link, "sublabel": .text, "kind": .classes, "cells": .list(cell)])),
    ])

    static let schema = SlotSchema.page([
        "items_href": .link,
        "name": .text,
        "id": .text,
        "status": .text,
        "created": .text,
        "tool_version": .text,
        "seed": .text,
        "digest": .text,
        "base_model": .text,
        "models": .list(SlotSchema(["model": .text])),
        "item_count": .text,
        "communities": .list(SlotSchema([
            "name": .text, "href": .link, "pool": .text, "description": .text, "colour": .classes,
        ], required: ["href"])),
        "audit": .text,
        "audited": .flag,
        "thresholds": .list(SlotSchema(["metric": .text, "value": .text])),
        "diffs": .list(SlotSchema(["label": .text, "href": .link], required: ["href"])),
        "contents": .list(SlotSchema(["title": .text, "href": .link])),
        "sections": .list(SlotSchema([
            "anchor": .anchor,
            "title": .text,
            "about": .text,
            "empty": .flag,
            "tables": .list(table),
            "charts": .list(SlotSchema(["caption": .text, "chart": .chart])),
        ], required: ["tables", "charts"])),
    ], required: ["items_href", "communities", "sections", "diffs"])

    /// A section of the page: what it shows and from which metrics.
    struct Section {
        var anchor: String
        var title: String
        var about: String
        var tables: [Slots] = []
        var charts: [Slots] = []
    }

    static func slots(_ overview: RunOverview, digest: String, faithfulness: [AuditScore],
                      diffs: [(label: String, path: SitePath)]) -> Slots {
        let run = overview.run
        let links = PageLinks(path: .run(run.id))
        var slots = links.common()
        slots.link("items_href", links.href(.items(run.id)))
        slots.text("name", run.name)
        IndexPage.fillManifest(&slots, overview, digest: digest)
        slots.list("communities", overview.communities.map { community in
            Slots.row { row in
                row.text("name", community.name)
                row.link("href", links.href(.community(run.id, community.name)))
                row.text("pool", community.pool)
                row.text("description", community.description)
                row.classes("colour", [overview.colour(of: community.name)])
            }
        })
        slots.text("audit", IndexPage.auditLine(overview))
        slots.flag("audited", overview.scorer != nil)
        let thresholds = overview.scorer.flatMap { JSONValue.parse($0.thresholdsJSON)?.object } ?? [:]
        slots.list("thresholds", thresholds.keys.sorted().map { metric in
            Slots.row {
                $0.text("metric", Format.metric(metric))
                $0.text("value", Format.score(thresholds[metric]?.number))
            }
        })
        slots.list("diffs", diffs.map { diff in
            Slots.row {
                $0.text("label", diff.label)
                $0.link("href", links.href(diff.path))
            }
        })

        let sections = [
            representation(overview, links),
            overton(overview, faithfulness),
            steerable(overview),
            distributional(overview),
            fallbacks(overview),
        ]
        slots.list("contents", sections.map { section in
            Slots.row {
                $0.text("title", section.title)
                $0.link("href", "#" + section.anchor)
            }
        })
        slots.list("sections", sections.map { section in
            Slots.row { row in
                row.anchor("anchor", section.anchor)
                row.text("title", section.title)
                row.text("about", section.about)
                row.flag("empty", section.tables.isEmpty)
                row.list("tables", section.tables)
                row.list("charts", section.charts)
            }
        })
        return slots
    }

    // MARK: Sections

    private static func representation(_ overview: RunOverview, _ links: PageLinks) -> Section {
        var section = Section(
            anchor: "representation", title: "Community representation",
            about: "For each community, the share of a method's answers (to items of the community's pool) in which the "
                + "audit found the community represented, and the mean representation score. Modular pluralism's modes "
                + "stand beside the baselines. For multiple-choice answers, the baseline under a score is what a uniform "
                + "answer would get: where it is as high, the community's distribution says too little to be represented.")
        let rates = overview.summaries.filter { $0.metric == "representation_rate" }
        let methods = overview.methods.filter { method in rates.contains { $0.method == method } }
        let communities = overview.communities.filter { community in rates.contains { $0.subject == community.name } }
        guard !methods.isEmpty else { return section }
        for (metric, caption) in [("representation_rate", "Representation rate"), ("representation", "Mean representation score")] {
            section.tables.append(Slots.row { table in
                table.text("caption", caption + " by community (rows) and method (columns)")
                table.list("columns", methods.map { method in
                    Slots.row {
                        $0.text("label", Methods.label(method))
                        $0.text("about", Methods.modes.contains(method) ? "modular pluralism" : "baseline")
                    }
                })
                table.list("rows", communities.map { community in
                    Slots.row { row in
                        row.text("label", community.name)
                        row.link("href", links.href(.community(overview.run.id, community.name)))
                        row.text("sublabel", community.pool)
                        row.classes("kind", [overview.colour(of: community.name)])
                        row.list("cells", methods.map { IndexPage.metricCell(overview.summary($0, metric, community.name)) })
                    }
                })
            })
        }
        section.charts.append(Slots.row { chart in
            chart.text("caption", "Representation rate: one group per community, one bar per method (modes in colour, baselines in grey).")
            chart.chart("chart", BarChart(
                caption: "Representation rate by community and method",
                groups: communities.map { community in
                    BarChart.Group(label: community.name, bars: methods.map { method in
                        BarChart.Bar(label: Methods.label(method), value: overview.summary(method, "representation_rate", community.name)?.value,
                                     style: Methods.modes.contains(method) ? "mp" : "baseline-bar")
                    })
                }))
        })
        return section
    }

    private static func overton(_ overview: RunOverview, _ faithfulness: [AuditScore]) -> Section {
        var section = Section(
            anchor: "overton", title: "Overton: faithfulness and value coverage",
            about: "Faithfulness: the share of an answer's sentences supported by a comment in its prompt. Value coverage: "
                + "how well an answer covers the item's reference values (the rate counts items above the threshold).")
        let metrics = ["faithfulness", "value_coverage", "value_coverage_rate"]
        if let table = metricTable(overview, metrics: metrics, caption: "Per method, over the items each answered") {
            section.tables.append(table)
        }
        for method in overview.methods {
            let scores = faithfulness.filter { $0.method == method && $0.community.isEmpty }.compactMap(\.score)
            guard !scores.isEmpty else { continue }
            section.charts.append(Slots.row { chart in
                chart.text("caption", "\(Methods.label(method)): faithfulness of \(scores.count) answers, in ten bins from 0 to 1.")
                chart.chart("chart", Histogram(caption: "Faithfulness distribution of \(Methods.label(method))", scores: scores))
            })
        }
        return section
    }

    private static func steerable(_ overview: RunOverview) -> Section {
        var section = Section(
            anchor: "steerable", title: "Steerable: steering the answer to an attribute",
            about: "Accuracy, balanced accuracy and macro-F1 of the chosen option against the gold one, each beside a "
                + "majority-class predictor on the same items; selection fallbacks count the selections that did not parse.")
        let metrics = ["accuracy", "balanced_accuracy", "macro_f1", "macro_f1_binary", "selection_fallbacks"]
        if let table = metricTable(overview, metrics: metrics, caption: "Per method; under each score, the majority-class baseline") {
            section.tables.append(table)
        }
        for metric in ["accuracy", "balanced_accuracy", "macro_f1"] {
            let methods = overview.methods.filter { overview.summary($0, metric) != nil }
            guard !methods.isEmpty else { continue }
            section.charts.append(Slots.row { chart in
                chart.text("caption", "\(Format.metric(metric)): each method beside its trivial baseline (grey).")
                chart.chart("chart", BarChart(
                    caption: "\(Format.metric(metric)) against baseline",
                    groups: methods.map { method in
                        let summary = overview.summary(method, metric)
                        return BarChart.Group(label: Methods.label(method), bars: [
                            BarChart.Bar(label: "score", value: summary?.value, style: "mp"),
                            BarChart.Bar(label: "baseline", value: summary?.baseline, style: "baseline-bar"),
                        ])
                    }))
            })
        }
        return section
    }

    private static func distributional(_ overview: RunOverview) -> Section {
        var section = Section(
            anchor: "distributional", title: "Distributional: matching a population's answers",
            about: "Jensen–Shannon distance between each answer distribution and the population's (lower is better; the "
                + "baseline is the uniform distribution's), and how often the most likely option is the gold one, by population.")
        let rows = overview.summaries.filter { $0.metric == "js_distance" || $0.metric == "most_likely_correct" }
        let methods = overview.methods.filter { method in rows.contains { $0.method == method } }
        let subjects = Array(Set(rows.map(\.subject))).sorted()
        guard !methods.isEmpty else { return section }
        let metrics = ["js_distance", "most_likely_correct"]
        section.tables.append(Slots.row { table in
            table.text("caption", "Per method and population (all: every item with a gold distribution)")
            table.list("columns", metrics.map { metric in
                Slots.row {
                    $0.text("label", Format.metric(metric))
                    $0.text("about", Format.lowerIsBetter(metric) ? "lower is better" : "higher is better")
                }
            })
            table.list("rows", methods.flatMap { method in
                subjects.filter { subject in metrics.contains { overview.summary(method, $0, subject) != nil } }.map { subject in
                    Slots.row { row in
                        row.text("label", Methods.label(method))
                        row.text("sublabel", subject.isEmpty ? "all" : subject)
                        row.classes("kind", [Methods.kind(method)])
                        row.list("cells", metrics.map { IndexPage.metricCell(overview.summary(method, $0, subject)) })
                    }
                }
            })
        })
        for subject in subjects {
            let present = methods.filter { overview.summary($0, "js_distance", subject) != nil }
            guard !present.isEmpty else { continue }
            let name = subject.isEmpty ? "all items" : "population \(subject)"
            section.charts.append(Slots.row { chart in
                chart.text("caption", "JS distance, \(name): each method beside the uniform distribution's (grey); shorter is better.")
                chart.chart("chart", BarChart(
                    caption: "JS distance, \(name)",
                    groups: present.map { method in
                        let summary = overview.summary(method, "js_distance", subject)
                        return BarChart.Group(label: Methods.label(method), bars: [
                            BarChart.Bar(label: "JS distance", value: summary?.value, style: "mp"),
                            BarChart.Bar(label: "uniform", value: summary?.baseline, style: "baseline-bar"),
                        ])
                    },
                    maximum: log(2.0).squareRoot()))
            })
        }
        return section
    }

    private static func fallbacks(_ overview: RunOverview) -> Section {
        var section = Section(
            anchor: "fallbacks", title: "Fallbacks",
            about: "Selections that did not parse (and took the first community), distributions with no option token "
                + "among the alternatives (and fell back to uniform), and the probability mass the option tokens covered.")
        let metrics = ["selection_fallbacks", "distribution_fallbacks", "covered_mass"]
        if let table = metricTable(overview, metrics: metrics, caption: "Per method") { section.tables.append(table) }
        return section
    }

    /// A table of methods (rows) by metrics (columns), for the metrics with any number in the
    /// run; nil when there is none.
    private static func metricTable(_ overview: RunOverview, metrics: [String], caption: String) -> Slots? {
        let present = metrics.filter { metric in overview.summaries.contains { $0.metric == metric && $0.subject.isEmpty } }
        let methods = overview.methods.filter { method in present.contains { overview.summary(method, $0) != nil } }
        guard !present.isEmpty, !methods.isEmpty else { return nil }
        return Slots.row { table in
            table.text("caption", caption)
            table.list("columns", present.map { metric in
                Slots.row {
                    $0.text("label", Format.metric(metric))
                    $0.text("about", Format.lowerIsBetter(metric) ? "lower is better" : "higher is better")
                }
            })
            table.list("rows", methods.map { method in
                Slots.row { row in
                    row.text("label", Methods.label(method))
                    row.classes("kind", [Methods.kind(method)])
                    row.list("cells", present.map { IndexPage.metricCell(overview.summary(method, $0)) })
                }
            })
        }
    }
}
