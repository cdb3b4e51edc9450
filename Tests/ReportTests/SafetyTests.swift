import Corpus
import Foundation
@testable import Report
import Testing

/// Inputs and model outputs that try to become markup, script, links or fetches.
enum Hostile {
    static let text = [
        "<script>console.log('PLURALISM-SCRIPT-RAN');fetch('http://canary.invalid/script')</script>",
        "\"><img src=x onerror=alert(1)>",
        "'><img src=http://canary.invalid/img onerror=\"fetch('http://canary.invalid/onerror')\">",
        "]]> <![CDATA[ cdata ]]>",
        "javascript:alert(1) <a href=\"javascript:alert(1)\">click</a>",
        "<style>body{background:url(http://canary.invalid/css)}</style>",
        "NUL:\u{0}: RLO:\u{202E}:evil.exe",
        "</textarea></title><!-- &amp; &lt;",
    ].joined(separator: " ")

    /// What a page shows for `text`: NUL (a character no page may hold) becomes U+FFFD.
    static func shown(_ text: String) -> String { text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") }

    /// An id and a community name no file name or link may be built from as they are.
    static let itemID = "\"><svg onload=alert(1)>/../../x"
    static let community = "javascript:alert(1)"
    /// Bytes that are not UTF-8 (a lone continuation byte, an invalid lead, an overlong slash).
    static let invalidUTF8: [UInt8] = Array("bad:".utf8) + [0xFF, 0xFE, 0x80, 0xC0, 0xAF]
}

/// A site rendered from a corpus full of hostile text.
struct HostileFixture {
    let rendered: RenderedFixture

    init() throws {
        rendered = try RenderedFixture(hostile: Hostile.text, configure: { run in
            run.name = "run " + Hostile.text
            run.overtonItems.append(Hostile.itemID)
            run.communities.append((Hostile.community, "perspective"))
        }, afterWriting: { corpus in
            // Invalid UTF-8 cannot be a Swift string: it goes into the file as bytes.
            try corpus.database.execute(
                "UPDATE comment SET text = CAST(? AS TEXT) WHERE item_id = 'o1' AND community = 'left'", [Hostile.invalidUTF8])
        })
    }
}

@Suite struct SafetyTests {
    @Test func hostileTextArrivesAsInertText() throws {
        let fixture = try HostileFixture().rendered
        defer { fixture.folder.remove() }
        let all = try pages(in: fixture.site)
        #expect(all.count > 20)
        for path in all {
            let page = try fixture.page(path)
            #expect(page.problems.isEmpty, "\(path): \(page.problems)")
            for element in page.elements {
                #expect(!["script", "img", "iframe", "object", "embed", "style", "svg:script", "base", "form"].contains(element.name),
                        "\(path): <\(element.name)> element")
                for (name, value) in element.attributes {
                    #expect(!name.hasPrefix("on"), "\(path): \(name) attribute on <\(element.name)>")
                    #expect(name != "style" && name != "srcset" && name != "src", "\(path): \(name)=\(value)")
                }
                if let href = element.attribute("href") {
                    let scheme = href.prefix { $0 != "/" && $0 != "#" }
                    #expect(!scheme.contains(":"), "\(path): href \(href)")
                }
            }
            let bytes = String(decoding: try Data(contentsOf: URL(fileURLWithPath: fixture.site + "/" + path)), as: UTF8.self).lowercased()
            #expect(!bytes.contains("<script") && !bytes.contains("<img") && !bytes.contains("<style"), "\(path)")
        }
        // Each hostile text is on the pages, character for character, as text.
        let item = try fixture.page("runs/run-a/items/o2.html")
        let question = try #require(item.elements(named: "blockquote").first)
        #expect(question.textContent == Hostile.shown("Question o2? " + Hostile.text))
        let comment = try #require(item.elements(named: "article").first { $0.textContent.contains("right on o2") })
        #expect(comment.descendants().contains { $0.textContent == Hostile.shown(fixture.runA.comment("o2", "right")) })
        let shownCalls = Set(item.elements(named: "pre").map(\.textContent))
        for synthesis in try fixture.corpus.syntheses(runID: "run-a", itemID: "o2") {
            for key in synthesis.callKeys {
                let call = try #require(try fixture.corpus.archivedCall(key: key))
                #expect(call.requestJSON.contains("onerror"))
                #expect(shownCalls.contains(call.requestJSON) && shownCalls.contains(call.responseJSON))
            }
        }
        // Invalid UTF-8 arrives as U+FFFD, the rest of the comment intact.
        let damaged = try fixture.page("runs/run-a/items/o1.html")
        #expect(damaged.text.contains("bad:\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"))
        // The right-to-left override is kept as text, inside an element isolated from its surroundings.
        let isolated = item.elements.filter { $0.attribute("dir") == "auto" && $0.textContent.contains("\u{202E}") }
        #expect(!isolated.isEmpty)
        // Hostile ids and names: their pages exist under hashed names and are linked.
        let hostileItem = SitePath.item("run-a", Hostile.itemID)
        #expect(hostileItem.components.last!.hasPrefix("_"))
        #expect(try fixture.page(hostileItem.description).text.contains(Hostile.itemID))
        let hostileCommunity = SitePath.community("run-a", Hostile.community)
        #expect(try fixture.page(hostileCommunity.description).text.contains(Hostile.community))
        let items = try fixture.page("runs/run-a/items.html")
        #expect(items.links.contains("items/" + hostileItem.components.last!))
        let index = try fixture.page("index.html")
        #expect(index.text.contains("run " + Hostile.shown(Hostile.text)))
    }
}
