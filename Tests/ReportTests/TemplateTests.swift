import Foundation
@testable import Report
import Testing

@Suite struct TemplateTests {
    /// A copy of the built-in templates with `index.html` edited by `edit`, checked.
    private func errors(editingIndex edit: (String) -> String) throws -> [String] {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let templates = folder.file("templates")
        try FileManager.default.copyItem(atPath: builtInTemplates, toPath: templates)
        let index = (templates as NSString).appendingPathComponent("index.html")
        let original = try String(contentsOfFile: index, encoding: .utf8)
        let edited = edit(original)
        #expect(edited != original, "the edit changed nothing")
        try edited.write(toFile: index, atomically: true, encoding: .utf8)
        do {
            _ = try TemplateSet(folder: templates)
            return []
        } catch let problems as TemplateErrors {
            return problems.errors.map { $0.description.replacingOccurrences(of: templates + "/", with: "") }
        }
    }

    /// The 1-based line of the first line of the built-in index template containing `text`.
    private func line(of text: String) throws -> Int {
        let lines = try String(contentsOfFile: builtInTemplates + "/index.html", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        return try #require(lines.firstIndex { $0.contains(text) }) + 1
    }

    @Test func builtInTemplatesAreValid() throws {
        let set = try TemplateSet(folder: builtInTemplates)
        #expect(set.assets == ["style.css"])
    }

    @Test func unknownMarkerNamesFileLineAndMarker() throws {
        let found = try errors { $0.replacingOccurrences(of: #"data-text="corpus""#, with: #"data-txt="corpus""#) }
        let line = try line(of: #"data-text="corpus""#)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix(#"index.html:\#(line): data-txt="corpus": unknown marker"#) == true, "\(found)")
    }

    @Test func markerNamingNoSlotIsAnError() throws {
        let found = try errors { $0.replacingOccurrences(of: #"data-text="run_count""#, with: #"data-text="run_cnt""#) }
        let line = try line(of: #"data-text="run_count""#)
        #expect(found == [#"index.html:\#(line): data-text="run_cnt": no text slot named "run_cnt" (here: corpus, run_count)"#], "\(found)")
    }

    @Test func markerOfTheWrongKindIsAnError() throws {
        let found = try errors { $0.replacingOccurrences(of: #"data-text="corpus""#, with: #"data-text="runs""#) }
        #expect(found.count == 1)
        #expect(found.first?.contains(#"data-text="runs": "runs" is a list, not a text"#) == true, "\(found)")
    }

    @Test func missingRequiredSlotIsAnError() throws {
        let found = try errors { $0.replacingOccurrences(of: #" data-href="run_href""#, with: "") }
        let line = try line(of: #"data-repeat="runs""#)
        #expect(found == [
            #"index.html:\#(line): data-repeat="runs": required slot "run_href" is not used (mark an element with data-href="run_href")"#,
        ], "\(found)")
        let noRuns = try errors { $0.replacingOccurrences(of: #" data-repeat="runs""#, with: "") }
        #expect(noRuns.contains { $0.contains(#"<html>: required slot "runs" is not used"#) }, "\(noRuns)")
    }

    @Test func markersWhereTheyCannotWorkAreErrors() throws {
        let script = try errors { $0.replacingOccurrences(of: "</head>", with: #"<script data-text="corpus"></script></head>"#) }
        #expect(script.contains { $0.contains(#"data-text="corpus": <script> content is not escaped by browsers"#) }, "\(script)")
        let href = try errors { $0.replacingOccurrences(of: #"<code data-text="corpus">"#, with: #"<code data-href="home">"#) }
        #expect(href.contains { $0.contains(#"data-href="home": links go on <a> or <link>, not <code>"#) }, "\(href)")
        let buried = try errors { $0.replacingOccurrences(of: #"<dd><code data-text="id">"#, with: #"<dd data-text="digest"><code data-text="id">"#) }
        #expect(buried.contains { $0.contains(#"data-text="id": inside an element whose content is replaced"#) }, "\(buried)")
    }

    @Test func brokenHTMLIsAnError() throws {
        let found = try errors { $0.replacingOccurrences(of: "<h1>pluralism report</h1>", with: "<h1>pluralism report</h2>") }
        let line = try line(of: "<h1>pluralism report</h1>")
        #expect(found.contains { $0.hasPrefix("index.html:\(line): html: ") }, "\(found)")
    }

    @Test func missingTemplateFileIsNamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try FileManager.default.copyItem(atPath: builtInTemplates, toPath: folder.file("t"))
        try FileManager.default.removeItem(atPath: folder.file("t/item.html"))
        #expect { try TemplateSet(folder: folder.file("t")) } throws: { "\($0)".contains("missing item.html") }
    }

    @Test func rendersRowsConditionsAndRemovesMarkers() throws {
        let source = """
        <!DOCTYPE html>
        <html><head><title data-text="title">x</title></head>
        <body>
        <ul>
          <li class="row" data-repeat="rows" data-class="kind"><a lang="en" data-href="href" data-text="name">n</a><em data-if="flag">!</em></li>
        </ul>
        <p data-unless="flag" data-title="title">shown when no flag</p>
        </body></html>
        """
        let schema = SlotSchema([
            "title": .text, "flag": .flag,
            "rows": .list(SlotSchema(["name": .text, "href": .link, "kind": .classes, "flag": .flag])),
        ])
        let template = try Template(file: "t.html", bytes: Array(source.utf8), schema: schema)
        var slots = Slots()
        slots.text("title", "T & <b>")
        slots.list("rows", [
            Slots.row { $0.text("name", "one"); $0.link("href", "a/1.html"); $0.classes("kind", ["x"]); $0.flag("flag", true) },
            Slots.row { $0.text("name", "two"); $0.link("href", "a/2.html") },
            Slots.row { $0.text("name", "שלום \u{202E}x"); $0.link("href", "a/3.html") },
        ])
        let html = String(decoding: try template.render(slots).serialized(), as: UTF8.self)
        #expect(!html.contains("data-"))
        #expect(html.contains(#"<li class="row x"><a lang="en" href="a/1.html">one</a><em>!</em></li>"#), "\(html)")
        #expect(html.contains(#"<li class="row"><a lang="en" href="a/2.html">two</a></li>"#), "\(html)")
        #expect(html.contains("<li class=\"row\"><a lang=\"en\" href=\"a/3.html\" dir=\"auto\">שלום \u{202E}x</a></li>"), "\(html)")
        #expect(html.contains("<title>T &amp; &lt;b&gt;</title>"))
        #expect(html.contains(#"<p title="T &amp; &lt;b&gt;">shown when no flag</p>"#), "\(html)")
    }
}

@Suite struct TemplateGuideTests {
    /// templates/README.md names every slot of every page, the required ones in bold.
    @Test func theGuideListsEverySlot() throws {
        let guide = try String(contentsOfFile: builtInTemplates + "/README.md", encoding: .utf8)
        let paragraphs = guide.components(separatedBy: "\n\n")
        func slots(_ schema: SlotSchema) -> [(name: String, required: Bool)] {
            schema.slots.keys.sorted().flatMap { name -> [(String, Bool)] in
                var found = [(name, schema.required.contains(name))]
                if case .list(let rows) = schema.slots[name]! { found += slots(rows) }
                return found
            }
        }
        for (file, schema) in TemplateSet.pages {
            let paragraph = try #require(paragraphs.first { $0.hasPrefix("`\(file)`:") }, "no paragraph for \(file)")
            let common = try #require(paragraphs.first { $0.hasPrefix("Every page:") })
            for (name, required) in slots(schema) {
                let text = ["stylesheet", "home"].contains(name) ? common : paragraph
                #expect(text.contains("`\(name)`"), "\(file): \(name) is not in the guide")
                if required { #expect(text.contains("**`\(name)`**"), "\(file): \(name) is required but not in bold") }
            }
        }
    }
}
