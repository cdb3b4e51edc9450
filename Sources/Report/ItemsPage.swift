/// A run's items in input order, each linking its page.
enum ItemsPage {
    static let schema = SlotSchema.page([
        "run_href": .link,
        "name": .text,
        "id": .text,
        "item_count": .text,
        "items": .list(SlotSchema([
            "id": .text, "href": .link, "mode": .text, "pool": .text, "question": .text,
        ], required: ["href"])),
    ], required: ["run_href", "items"])

    static func slots(_ overview: RunOverview) -> Slots {
        let run = overview.run
        let links = PageLinks(path: .items(run.id))
        var slots = links.common()
        slots.link("run_href", links.href(.run(run.id)))
        slots.text("name", run.name)
        slots.text("id", run.id)
        slots.text("item_count", String(overview.items.count))
        slots.list("items", overview.items.map { item in
            Slots.row { row in
                row.text("id", item.id)
                row.link("href", links.href(.item(run.id, item.id)))
                row.text("mode", item.mode)
                row.text("pool", item.pool)
                row.text("question", item.content.text)
            }
        })
        return slots
    }
}
