import CLibXML2
import Foundation

/// The marker attributes a template may use. A template is plain HTML5 a designer can open in
/// a browser; markers say where a page's values go, and are removed from the rendered page.
///
/// | marker | on | does |
/// |---|---|---|
/// | `data-text="slot"` | any element but `script`, `style` and void elements | replaces the element's content with the slot's text |
/// | `data-title="slot"` | any element | sets `title` (a tooltip) to the slot's text |
/// | `data-href="slot"` | `a`, `link` | sets `href` to the slot's link |
/// | `data-repeat="slot"` | any element inside `body` | one copy of the element per row of the slot's list; markers on and inside it read the row first |
/// | `data-if="slot"`, `data-unless="slot"` | any element inside `body` | keeps the element only when the slot's flag is true (false) |
/// | `data-class="slot"` | any element | adds the slot's class names |
/// | `data-id="slot"` | any element | sets `id` (an anchor) |
/// | `data-chart="slot"` | any non-void element | replaces the content with the slot's chart, as inline SVG |
public enum Marker: String, CaseIterable, Sendable {
    case text = "data-text", title = "data-title", href = "data-href", repeats = "data-repeat"
    case showIf = "data-if", showUnless = "data-unless", classes = "data-class", anchor = "data-id", chart = "data-chart"

    /// The kind of slot the marker reads.
    var kind: SlotSchema.Kind {
        switch self {
        case .text, .title: .text
        case .href: .link
        case .repeats: .list(SlotSchema([:]))
        case .showIf, .showUnless: .flag
        case .classes: .classes
        case .anchor: .anchor
        case .chart: .chart
        }
    }
}

/// The slots a page offers: for each name, what kind of value it is. Rows of a list have
/// slots of their own; a marker inside a repeated element looks in the row first, then
/// outwards.
public struct SlotSchema: Sendable {
    public indirect enum Kind: Sendable {
        case text, link, flag, classes, anchor, chart
        case list(SlotSchema)

        var name: String {
            switch self {
            case .text: "text"
            case .link: "link"
            case .flag: "flag"
            case .classes: "class list"
            case .anchor: "anchor"
            case .chart: "chart"
            case .list: "list"
            }
        }

        func matches(_ other: Kind) -> Bool {
            switch (self, other) {
            case (.text, .text), (.link, .link), (.flag, .flag), (.classes, .classes), (.anchor, .anchor), (.chart, .chart),
                 (.list, .list): true
            default: false
            }
        }
    }

    public let slots: [String: Kind]
    /// Slots every template of the page must use (the links that keep the site connected,
    /// the content the page is for): leaving one out is an error, not a silently thinner page.
    public let required: Set<String>

    public init(_ slots: [String: Kind], required: Set<String> = []) {
        self.slots = slots
        self.required = required
    }
}

/// The values of one scope of a page (the page itself, or one row of a list).
public struct Slots: Sendable {
    public enum Value: Sendable {
        case text(String)
        /// An href, already relative to the page (`SitePath.href(from:)`) or an in-page `#anchor`.
        case link(String)
        case flag(Bool)
        case classes([String])
        case anchor(String)
        case chart(any Chart)
        case list([Slots])
    }

    /// Short parallel lists searched from the end (a later value for a name wins): a row has
    /// a dozen values at most and a large site builds millions of rows, so hashing every name
    /// would cost more than comparing a few short strings.
    private var names: [String] = []
    private var values: [Value] = []

    public init() {}

    public subscript(name: String) -> Value? {
        get {
            var index = names.count - 1
            while index >= 0 {
                if names[index] == name { return values[index] }
                index -= 1
            }
            return nil
        }
        set {
            guard let newValue else {
                while let index = names.lastIndex(of: name) {
                    names.remove(at: index)
                    values.remove(at: index)
                }
                return
            }
            names.append(name)
            values.append(newValue)
        }
    }

    public mutating func text(_ name: String, _ text: String) { self[name] = .text(text) }
    public mutating func link(_ name: String, _ href: String) { self[name] = .link(href) }
    public mutating func flag(_ name: String, _ flag: Bool) { self[name] = .flag(flag) }
    public mutating func classes(_ name: String, _ classes: [String]) { self[name] = .classes(classes) }
    public mutating func anchor(_ name: String, _ id: String) { self[name] = .anchor(id) }
    public mutating func chart(_ name: String, _ chart: any Chart) { self[name] = .chart(chart) }
    public mutating func list(_ name: String, _ rows: [Slots]) { self[name] = .list(rows) }
}

/// Something drawn as inline SVG into a page's DOM.
public protocol Chart: Sendable {
    /// Appends the chart's `<svg>` to `container`.
    func draw(into container: HTMLNode)
}

/// A problem with a template, located as `file:line: marker: message`.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int
    /// The marker as written (`data-text="title"`), or `html` for a parse problem.
    public var marker: String
    public var message: String

    public var description: String { "\(file):\(line): \(marker): \(message)" }
}

/// Every problem found in a set of templates, reported together.
public struct TemplateErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [TemplateError]

    public var description: String {
        let count = errors.count == 1 ? "1 problem" : "\(errors.count) problems"
        return (["invalid templates (\(count)):"] + errors.map(\.description)).joined(separator: "\n")
    }
}

/// A parsed, checked template. Read-only once loaded, so the pages of one site share it
/// across threads; each page is built into a document of its own (hence `@unchecked Sendable`).
public final class Template: @unchecked Sendable {
    /// The file the template was read from, as errors name it.
    public let file: String
    let document: HTMLDocument
    let schema: SlotSchema
    /// The template compiled for rendering: which elements hold markers, which subtrees are
    /// copied as they are.
    private let plan: RenderPlan

    /// Parses and checks a template against the slots its page offers. Throws
    /// `TemplateErrors` listing every problem: HTML libxml2 had to repair, unknown markers,
    /// markers naming no slot or a slot of another kind, markers where they cannot work,
    /// and required slots the template does not use.
    public convenience init(file: String, schema: SlotSchema) throws {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        } catch {
            throw TemplateErrors(errors: [TemplateError(file: file, line: 0, marker: "file", message: "cannot read the template")])
        }
        try self.init(file: file, bytes: bytes, schema: schema)
    }

    /// A template from bytes, reported as `file`.
    public init(file: String, bytes: [UInt8], schema: SlotSchema) throws {
        let parsed: (document: HTMLDocument, problems: [HTMLProblem])
        do {
            parsed = try HTMLDocument.parse(bytes, name: file)
        } catch {
            throw TemplateErrors(errors: [TemplateError(file: file, line: 0, marker: "html", message: "\(error)")])
        }
        var errors = parsed.problems.filter { !$0.isUnknownTag }.map {
            TemplateError(file: file, line: $0.line, marker: "html", message: $0.message)
        }
        if let root = parsed.document.root {
            var check = TemplateCheck(file: file)
            check.run(root: root, schema: schema)
            errors += check.errors
        } else {
            errors.append(TemplateError(file: file, line: 0, marker: "html", message: "no <html> element"))
        }
        if !errors.isEmpty { throw TemplateErrors(errors: errors) }
        self.file = file
        self.document = parsed.document
        self.schema = schema
        plan = RenderPlan(parsed.document)
    }

    /// A new page: the template with every marker filled from `slots` and removed. A value
    /// the page does not give leaves its element empty (text), without `href` (link), hidden
    /// (flag) or without rows (list).
    public func render(_ slots: Slots) -> HTMLDocument {
        plan.render(slots, like: document)
    }

    /// A renderer of this template for one thread's many pages. Its plan is that thread's own
    /// copy: the plan's objects are touched (retained, released) for every element of every
    /// page, and two threads doing that to shared objects fight over their reference counts.
    func renderer() -> TemplateRenderer {
        TemplateRenderer(template: self, plan: RenderPlan(document))
    }
}

/// One thread's renderer of a template (`Template.renderer()`); not for sharing.
struct TemplateRenderer {
    fileprivate let template: Template
    fileprivate let plan: RenderPlan

    func render(_ slots: Slots) -> HTMLDocument { plan.render(slots, like: template.document) }
}

/// How a template becomes a page. Elements without markers anywhere inside them are copied
/// whole (libxml2 copies a subtree in one call); elements with markers are rebuilt: their
/// plain attributes copied, the markers applied, their children planned in turn. So building
/// a page never inspects or removes an attribute of the template's static parts.
private final class RenderPlan {
    /// One element that holds markers, or holds elements that do.
    final class Element {
        let source: xmlNodePtr
        /// The element's attributes that are not markers, set on each instance.
        let attributes: [(name: String, value: String)]
        let markers: [(marker: Marker, slot: String)]
        /// The list it repeats over, if it repeats.
        let repeats: String?
        /// The whitespace before a repeated element, repeated between its copies.
        let indent: xmlNodePtr?
        var children: [Child] = []

        init(source: xmlNodePtr, attributes: [(name: String, value: String)], markers: [(Marker, String)], repeats: String?, indent: xmlNodePtr?) {
            self.source = source
            self.attributes = attributes
            self.markers = markers
            self.repeats = repeats
            self.indent = indent
        }
    }

    enum Child {
        case copy(xmlNodePtr)
        case element(Element)
    }

    /// The document's own children: the doctype, then nodes copied or planned.
    private var top: [Child] = []
    private var doctype: (name: String, external: String?, system: String?)?

    init(_ document: HTMLDocument) {
        var next = document.pointer.pointee.children
        while let node = next {
            next = node.pointee.next
            if node.pointee.type == XML_DTD_NODE {
                let dtd = UnsafeMutableRawPointer(node).assumingMemoryBound(to: xmlDtd.self).pointee
                doctype = (dtd.name.map { String(cString: $0) } ?? "html", dtd.ExternalID.map { String(cString: $0) },
                           dtd.SystemID.map { String(cString: $0) })
            } else {
                top.append(Self.child(node))
            }
        }
    }

    private static func child(_ node: xmlNodePtr) -> Child {
        guard node.pointee.type == XML_ELEMENT_NODE, hasMarkers(node) else { return .copy(node) }
        var attributes: [(name: String, value: String)] = []
        var markers: [(Marker, String)] = []
        var repeats: String?
        for (name, value) in HTMLNode(pointer: node, document: nil).attributes {
            if let marker = Marker(rawValue: name) {
                if marker == .repeats { repeats = value } else { markers.append((marker, value)) }
            } else {
                attributes.append((name, value))
            }
        }
        var indent: xmlNodePtr?
        if repeats != nil, let previous = node.pointee.prev, previous.pointee.type == XML_TEXT_NODE,
           let content = previous.pointee.content, String(cString: content).allSatisfy(\.isWhitespace) {
            indent = previous
        }
        let element = Element(source: node, attributes: attributes, markers: markers, repeats: repeats, indent: indent)
        var child = node.pointee.children
        while let current = child {
            child = current.pointee.next
            element.children.append(Self.child(current))
        }
        return .element(element)
    }

    /// Whether the element or anything inside it carries a marker.
    private static func hasMarkers(_ node: xmlNodePtr) -> Bool {
        var attribute = node.pointee.properties
        while let current = attribute {
            if let name = current.pointee.name, strncmp(name, "data-", 5) == 0 { return true }
            attribute = current.pointee.next
        }
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE && hasMarkers(current) { return true }
            child = current.pointee.next
        }
        return false
    }

    func render(_ slots: Slots, like template: HTMLDocument) -> HTMLDocument {
        let page = HTMLDocument.emptyPage(sharingNamesWith: template)
        if let doctype {
            xmlCreateIntSubset(page.pointer, doctype.name, doctype.external, doctype.system)
        }
        var scopes = [slots]
        let parent = UnsafeMutableRawPointer(page.pointer).assumingMemoryBound(to: xmlNode.self)
        for child in top { emit(child, into: parent, page, &scopes) }
        return page
    }

    private func emit(_ child: Child, into parent: xmlNodePtr, _ page: HTMLDocument, _ scopes: inout [Slots]) {
        switch child {
        case .copy(let node):
            xmlAddChild(parent, xmlDocCopyNode(node, page.pointer, 1))
        case .element(let element):
            guard let list = element.repeats else {
                emitOne(element, into: parent, page, &scopes)
                return
            }
            guard case .list(let rows)? = Self.lookup(list, scopes) else { return }
            for (index, row) in rows.enumerated() {
                if index > 0, let indent = element.indent { xmlAddChild(parent, xmlDocCopyNode(indent, page.pointer, 1)) }
                scopes.append(row)
                emitOne(element, into: parent, page, &scopes)
                scopes.removeLast()
            }
        }
    }

    private func emitOne(_ plan: Element, into parent: xmlNodePtr, _ page: HTMLDocument, _ scopes: inout [Slots]) {
        for (marker, slot) in plan.markers where marker == .showIf || marker == .showUnless {
            var shown = false
            if case .flag(let flag)? = Self.lookup(slot, scopes) { shown = flag }
            if shown == (marker == .showUnless) { return }
        }
        guard let created = xmlDocCopyNode(plan.source, page.pointer, 0) else { return }
        xmlAddChild(parent, created)
        for (name, value) in plan.attributes { xmlNewProp(created, name, value) }
        let element = HTMLNode(pointer: created, document: page)
        var replacesContent = false
        for (marker, slot) in plan.markers {
            let value = Self.lookup(slot, scopes)
            switch marker {
            case .repeats, .showIf, .showUnless:
                continue
            case .text:
                if case .text(let text)? = value {
                    let (clean, bidirectional) = HTMLText.cleanAndClassify(text)
                    element.appendCleanText(clean)
                    // Text with right-to-left letters or bidirectional controls becomes an
                    // isolated, self-directed run: an override inside it cannot reorder the
                    // page around it. (Text without them cannot reorder anything.)
                    if bidirectional && !element.hasAttribute("dir") && element.name != "title" {
                        element.setAttribute("dir", "auto")
                    }
                }
                replacesContent = true
            case .title:
                if case .text(let text)? = value { element.setAttribute("title", text) }
            case .href:
                if case .link(let href)? = value { element.setAttribute("href", href) }
            case .classes:
                if case .classes(let names)? = value { element.addClasses(names) }
            case .anchor:
                if case .anchor(let id)? = value { element.setAttribute("id", id) }
            case .chart:
                if case .chart(let chart)? = value { chart.draw(into: element) }
                replacesContent = true
            }
        }
        if replacesContent { return }
        for child in plan.children { emit(child, into: created, page, &scopes) }
    }

    private static func lookup(_ name: String, _ scopes: [Slots]) -> Slots.Value? {
        var index = scopes.count - 1
        while index >= 0 {
            if let value = scopes[index][name] { return value }
            index -= 1
        }
        return nil
    }
}

/// The checks a template passes before any page is rendered with it.
private struct TemplateCheck {
    let file: String
    var errors: [TemplateError] = []

    /// A scope being checked: the schema, which slots were used, and where it was opened.
    private struct OpenScope {
        let schema: SlotSchema
        var used: Set<String> = []
        let line: Int
        let opener: String
    }

    private static let voidElements: Set<String> = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    ]
    /// Elements whose text the browser does not decode: a value there would be markup.
    private static let rawTextElements: Set<String> = ["script", "style"]
    private static let structuralElements: Set<String> = ["html", "head", "body"]

    mutating func run(root: HTMLNode, schema: SlotSchema) {
        var scopes = [OpenScope(schema: schema, line: root.line, opener: "<html>")]
        visit(root, &scopes)
        reportUnused(scopes[0])
    }

    private mutating func fail(_ element: HTMLNode, _ marker: String, _ message: String) {
        errors.append(TemplateError(file: file, line: element.line, marker: marker, message: message))
    }

    private mutating func visit(_ element: HTMLNode, _ scopes: inout [OpenScope]) {
        let markers = element.attributes(withPrefix: "data-")
        let name = element.name
        var opened = false
        var replacesContent = false
        // The repeat opens the row's scope first: the element's other markers read the row.
        let ordered = markers.filter { $0.name == Marker.repeats.rawValue } + markers.filter { $0.name != Marker.repeats.rawValue }
        for (attribute, slot) in ordered {
            let written = "\(attribute)=\"\(slot)\""
            guard let marker = Marker(rawValue: attribute) else {
                let known = Marker.allCases.map(\.rawValue).joined(separator: ", ")
                fail(element, written, "unknown marker (markers: \(known))")
                continue
            }
            if let problem = Self.placementProblem(marker, on: name) {
                fail(element, written, problem)
                continue
            }
            guard let (depth, kind) = Self.resolve(slot, scopes) else {
                let here = scopes.flatMap { $0.schema.slots.filter { $0.value.matches(marker.kind) }.map(\.key) }
                let offered = here.isEmpty ? "none of that kind here" : "here: " + Set(here).sorted().joined(separator: ", ")
                fail(element, written, "no \(marker.kind.name) slot named \"\(slot)\" (\(offered))")
                continue
            }
            guard kind.matches(marker.kind) else {
                fail(element, written, "\"\(slot)\" is a \(kind.name), not a \(marker.kind.name)")
                continue
            }
            scopes[depth].used.insert(slot)
            switch marker {
            case .repeats:
                if case .list(let rows) = kind {
                    scopes.append(OpenScope(schema: rows, line: element.line, opener: written))
                    opened = true
                }
            case .text, .chart:
                replacesContent = true
            default:
                break
            }
        }
        if replacesContent {
            for inner in element.descendants() where !inner.attributes(withPrefix: "data-").isEmpty {
                let first = inner.attributes(withPrefix: "data-")[0]
                fail(inner, "\(first.name)=\"\(first.value)\"", "inside an element whose content is replaced; it would never be filled")
            }
        } else {
            for child in element.children where child.isElement { visit(child, &scopes) }
        }
        if opened { reportUnused(scopes.removeLast()) }
    }

    private mutating func reportUnused(_ scope: OpenScope) {
        for slot in scope.schema.required.subtracting(scope.used).sorted() {
            let kind = scope.schema.slots[slot].map { kind in Marker.allCases.first { $0.kind.matches(kind) }?.rawValue ?? "" } ?? ""
            errors.append(TemplateError(
                file: file, line: scope.line, marker: scope.opener,
                message: "required slot \"\(slot)\" is not used (mark an element with \(kind)=\"\(slot)\")"))
        }
    }

    /// The innermost scope offering the slot, and its kind.
    private static func resolve(_ slot: String, _ scopes: [OpenScope]) -> (Int, SlotSchema.Kind)? {
        for depth in scopes.indices.reversed() {
            if let kind = scopes[depth].schema.slots[slot] { return (depth, kind) }
        }
        return nil
    }

    /// Why the marker cannot work on this element, if it cannot.
    private static func placementProblem(_ marker: Marker, on element: String) -> String? {
        switch marker {
        case .text, .chart:
            if rawTextElements.contains(element) { return "<\(element)> content is not escaped by browsers; it cannot hold values" }
            if voidElements.contains(element) { return "<\(element)> has no content to fill" }
            if structuralElements.contains(element) { return "cannot replace the content of <\(element)>" }
        case .href:
            if element != "a" && element != "link" { return "links go on <a> or <link>, not <\(element)>" }
        case .repeats, .showIf, .showUnless:
            if structuralElements.contains(element) || element == "title" || element == "meta" || element == "link" {
                return "<\(element)> cannot be repeated or hidden"
            }
        case .title, .classes, .anchor:
            if rawTextElements.contains(element) { return "not on <\(element)>" }
        }
        return nil
    }
}
