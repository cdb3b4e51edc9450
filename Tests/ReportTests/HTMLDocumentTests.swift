import Foundation
@testable import Report
import Testing

@Suite struct HTMLDocumentTests {
    static let page = """
    <!DOCTYPE html>
    <html lang="en">
    <head><meta charset="utf-8"><title>T</title></head>
    <body><main><p id="slot">placeholder</p></main></body>
    </html>
    """

    private func document() throws -> HTMLDocument {
        try HTMLDocument.parse(Array(Self.page.utf8), name: "t.html").document
    }

    private func slot(_ document: HTMLDocument) throws -> HTMLNode {
        try #require(document.root?.descendants().first { $0.attribute("id") == "slot" })
    }

    @Test func textAndAttributesAreEscapedNeverParsed() throws {
        let document = try document()
        let slot = try slot(document)
        let hostile = "</p><script>alert(1)</script> & \"><img src=x onerror=alert(1)> ]]> é"
        slot.setText(hostile)
        slot.setAttribute("title", hostile)
        let html = String(decoding: try document.serialized(), as: UTF8.self)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"&gt;&lt;img src=x onerror=alert(1)&gt; ]]&gt; é"))
        // Parsed back, both hold exactly the text that was set.
        let again = try HTMLDocument.parse(try document.serialized(), name: "again.html").document
        let back = try self.slot(again)
        #expect(back.textContent == hostile)
        #expect(back.attribute("title") == hostile)
        #expect(back.elements.isEmpty)
    }

    @Test func characterDataThatCannotBeInAPageIsReplaced() throws {
        let document = try document()
        let slot = try slot(document)
        slot.setText("a\u{0}b\u{1B}[31mc\u{7F}d\u{85}e\u{FFFE}f\tg\nh\u{202E}i")
        let back = try self.slot(HTMLDocument.parse(try document.serialized(), name: "again.html").document)
        #expect(back.textContent == "a\u{FFFD}b\u{FFFD}[31mc\u{FFFD}d\u{FFFD}e\u{FFFD}f\tg\nh\u{202E}i")
    }

    @Test func serialisesNonASCIIAsUTF8() throws {
        let document = try document()
        try slot(document).setText("Zürich → 東京 مرحبا")
        let html = String(decoding: try document.serialized(), as: UTF8.self)
        #expect(html.contains("Zürich → 東京 مرحبا"))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
    }

    @Test func problemsAreCollectedWithLines() throws {
        let broken = "<!DOCTYPE html>\n<html><body>\n<p>one</div>\n<main>x</main></body></html>"
        let (_, problems) = try HTMLDocument.parse(Array(broken.utf8), name: "broken.html")
        let real = problems.filter { !$0.isUnknownTag }
        #expect(real.contains { $0.line == 3 && $0.message.contains("div") })
        #expect(problems.contains { $0.isUnknownTag && $0.message.contains("main") })
    }

    @Test func cloneInsertAndRemoveKeepTheTreeConsistent() throws {
        let document = try document()
        let slot = try slot(document)
        for index in 0..<3 {
            let copy = slot.clone()
            copy.setText("row \(index)")
            slot.insertBefore(copy)
        }
        slot.remove()
        let main = try #require(document.root?.descendants().first { $0.name == "main" })
        #expect(main.elements.map(\.textContent) == ["row 0", "row 1", "row 2"])
    }
}
