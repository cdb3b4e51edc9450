import Foundation
@testable import Report

/// A rendered page parsed back with libxml2, for the tests to read like a user would.
struct RenderedPage {
    /// Relative to the site folder.
    let path: String
    let document: HTMLDocument
    /// What libxml2 reported, HTML5 elements it does not know (an HTML 4 parser) left out.
    let problems: [HTMLProblem]

    init(site: String, path: String) throws {
        self.path = path
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: (site as NSString).appendingPathComponent(path))))
        let parsed = try HTMLDocument.parse(bytes, name: path)
        document = parsed.document
        problems = parsed.problems.filter { !$0.isUnknownTag }
    }

    var elements: [HTMLNode] { document.root.map { [$0] + $0.descendants() } ?? [] }

    func elements(named name: String) -> [HTMLNode] { elements.filter { $0.name == name } }

    /// Every `href` (links and the stylesheet).
    var links: [String] { elements.compactMap { $0.attribute("href") } }

    /// The text a reader sees, whitespace collapsed.
    var text: String { collapse(document.root?.textContent ?? "") }

    /// Each table as its caption and rows of cell texts (header row first).
    var tables: [PageTable] { document.root.map(tables(in:)) ?? [] }

    /// The tables below one element.
    func tables(in node: HTMLNode) -> [PageTable] {
        node.descendants().filter { $0.name == "table" }.map { table in
            let caption = table.elements.first { $0.name == "caption" }.map { collapse($0.textContent) } ?? ""
            let rows = table.descendants().filter { $0.name == "tr" }.map { row in
                row.elements.filter { $0.name == "td" || $0.name == "th" }.map { collapse($0.textContent) }
            }
            return PageTable(caption: caption, rows: rows)
        }
    }

    /// The cell in the row whose first cell is `row` and the column headed `column`, for
    /// tables whose header row names the columns.
    func cell(row: String, column: String, tableCaption: String? = nil, sublabel: String? = nil) -> String? {
        for table in tables where tableCaption.map({ table.caption.hasPrefix($0) }) ?? true {
            guard let header = table.rows.first, let index = header.firstIndex(of: column) else { continue }
            for cells in table.rows.dropFirst() where cells.first == row && (sublabel == nil || cells[safe: 1] == sublabel) {
                return cells[safe: index]
            }
        }
        return nil
    }
}

struct PageTable {
    let caption: String
    let rows: [[String]]
}

func collapse(_ text: String) -> String {
    text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
}

/// The HTML files of a site, relative to its folder, sorted.
func pages(in site: String) throws -> [String] {
    try filesUnder(site).keys.filter { $0.hasSuffix(".html") }.sorted()
}

/// A relative link resolved against the folder of the page that holds it (both inside the
/// site), `..` and `.` applied.
func resolve(_ link: String, from folder: String) -> String {
    var parts = folder.split(separator: "/").map(String.init)
    for part in link.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
        switch part {
        case "..": if !parts.isEmpty { parts.removeLast() }
        case ".", "": continue
        default: parts.append(part)
        }
    }
    return parts.joined(separator: "/")
}
