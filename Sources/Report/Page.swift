/// Where a page is being built, for the relative links it holds.
struct PageLinks {
    let path: SitePath

    func href(_ target: SitePath) -> String { target.href(from: path) }

    /// The slots every page has: the stylesheet and the site's front page.
    func common() -> Slots {
        var slots = Slots()
        slots.link("stylesheet", href(.asset(SiteAssets.stylesheet)))
        slots.link("home", href(.index))
        return slots
    }
}

extension SlotSchema {
    /// A page's schema: its own slots plus `stylesheet` and `home`, both required (a page
    /// without its stylesheet or a way back to the index is a broken page).
    static func page(_ slots: [String: Kind], required: Set<String>) -> SlotSchema {
        SlotSchema(slots.merging(["stylesheet": .link, "home": .link]) { own, _ in own }, required: required.union(["stylesheet", "home"]))
    }
}

enum SiteAssets {
    /// The stylesheet every page links; copied from the templates folder with any other asset.
    static let stylesheet = "style.css"
}

extension Slots {
    /// A list row from a closure that fills it.
    static func row(_ fill: (inout Slots) -> Void) -> Slots {
        var slots = Slots()
        fill(&slots)
        return slots
    }
}
