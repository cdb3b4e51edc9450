import CLibXML2
import Foundation

/// An HTML document held as libxml2's tree: parsed from a template, filled node by node, and
/// serialised as UTF-8 HTML. (libxml2 holds text as UTF-8 and its HTML serialiser writes it as
/// it is, so the output buffers take no encoder: one that converted UTF-8 to UTF-8 would
/// only copy every byte once more.)
///
/// Text enters a document only as text nodes and attribute values, through `setText`,
/// `appendText` and `setAttribute`; libxml2 escapes both when it serialises, so no input can
/// become markup. Every string is cleaned on the way in (`HTMLText.clean`): a NUL would
/// silently cut a C string short, and control characters make the page invalid.
///
/// A document is owned by one thread at a time (libxml2 trees are not thread-safe); parsed
/// templates are shared read-only and each page works on its own `copy()`.
public final class HTMLDocument {
    let pointer: xmlDocPtr

    private init(owning pointer: xmlDocPtr) {
        self.pointer = pointer
    }

    deinit { xmlFreeDoc(pointer) }

    /// libxml2 sets up its global tables once per process; parsing from several threads
    /// before that races.
    private static let libraryReady: Void = { xmlInitParser() }()

    /// Parses HTML (UTF-8, no network access, no default DTD added) and returns the tree with
    /// every problem libxml2 reported. Only an input libxml2 cannot make a tree of at all
    /// throws; what it could repair is in `problems`, for the caller to judge.
    ///
    /// - Parameter name: the file name problems are reported under.
    public static func parse(_ bytes: [UInt8], name: String) throws -> (document: HTMLDocument, problems: [HTMLProblem]) {
        _ = libraryReady
        guard !bytes.isEmpty else { throw HTMLError.unparsable(name, "the file is empty") }
        guard let context = htmlNewParserCtxt() else { throw HTMLError.parserUnavailable(name) }
        defer { htmlFreeParserCtxt(context) }
        // Problems go to a per-thread handler (libxml2 keeps it in thread-local state), so
        // parsing on several threads at once collects each document's problems apart. The
        // HTML parser's own SAX handler never consults a structured handler of its own.
        let collector = ProblemCollector()
        xmlSetStructuredErrorFunc(Unmanaged.passUnretained(collector).toOpaque()) { data, error in
            guard let data, let error else { return }
            Unmanaged<ProblemCollector>.fromOpaque(data).takeUnretainedValue().record(error.pointee)
        }
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        let options = Int32(HTML_PARSE_NONET.rawValue | HTML_PARSE_NODEFDTD.rawValue)
        let document = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) { start in
                htmlCtxtReadMemory(context, start, Int32(clamping: buffer.count), name, "UTF-8", options)
            }
        }
        guard let document else { throw HTMLError.unparsable(name, collector.problems.first?.message ?? "no document") }
        return (HTMLDocument(owning: document), collector.problems)
    }

    /// An empty HTML document whose element and attribute names come from `template`'s
    /// name dictionary (a child dictionary of it, so the template's is only read): names
    /// are looked up instead of allocated for every node of every page.
    static func emptyPage(sharingNamesWith template: HTMLDocument) -> HTMLDocument {
        let page = htmlNewDocNoDtD(nil, nil)!
        if let names = template.pointer.pointee.dict { page.pointee.dict = xmlDictCreateSub(names) }
        return HTMLDocument(owning: page)
    }

    /// The `<html>` element.
    public var root: HTMLNode? {
        xmlDocGetRootElement(pointer).map { HTMLNode(pointer: $0, document: self) }
    }

    /// The document as UTF-8 HTML.
    public func serialized() throws -> [UInt8] {
        guard let buffer = xmlAllocOutputBuffer(nil) else {
            throw HTMLError.serialisationFailed("memory")
        }
        htmlDocContentDumpFormatOutput(buffer, pointer, "UTF-8", 0)
        var bytes: [UInt8] = []
        if buffer.pointee.error == 0, let content = xmlOutputBufferGetContent(buffer) {
            bytes = Array(UnsafeBufferPointer(start: content, count: Int(xmlOutputBufferGetSize(buffer))))
        }
        let failed = buffer.pointee.error != 0
        xmlOutputBufferClose(buffer)
        if failed { throw HTMLError.serialisationFailed("memory") }
        return bytes
    }

    /// Writes the document to a file as UTF-8 HTML, streaming from libxml2's buffer.
    public func write(to path: String) throws {
        guard let buffer = xmlOutputBufferCreateFilename(path, nil, 0) else {
            throw HTMLError.serialisationFailed(path)
        }
        htmlDocContentDumpFormatOutput(buffer, pointer, "UTF-8", 0)
        let failed = buffer.pointee.error != 0
        if xmlOutputBufferClose(buffer) < 0 || failed { throw HTMLError.serialisationFailed(path) }
    }
}

/// One node of an `HTMLDocument`'s tree. Holds its document, so the tree stays alive while a
/// node is in use; a node removed with `remove()` must not be used again.
public struct HTMLNode {
    let pointer: xmlNodePtr
    /// Nil only for a node of a document kept alive elsewhere (a template being compiled).
    let owner: HTMLDocument?

    init(pointer: xmlNodePtr, document: HTMLDocument?) {
        self.pointer = pointer
        owner = document
    }

    private var documentPointer: xmlDocPtr? { pointer.pointee.doc }

    public var isElement: Bool { pointer.pointee.type == XML_ELEMENT_NODE }

    /// The element's name, lower case as the HTML parser stores it ("#text" for text).
    public var name: String { pointer.pointee.name.map { String(cString: $0) } ?? "" }

    /// The 1-based line in the parsed source (0 for nodes made after parsing).
    public var line: Int { Int(xmlGetLineNo(pointer)) }

    /// The children, as they are now (safe to change the tree while walking the array).
    public var children: [HTMLNode] {
        var nodes: [HTMLNode] = []
        var next = pointer.pointee.children
        while let node = next {
            nodes.append(HTMLNode(pointer: node, document: owner))
            next = node.pointee.next
        }
        return nodes
    }

    /// The element children, in order.
    public var elements: [HTMLNode] { children.filter(\.isElement) }

    /// The text of the node and everything below it.
    public var textContent: String {
        guard let content = xmlNodeGetContent(pointer) else { return "" }
        defer { pluralism_xml_free(content) }
        return String(cString: content)
    }

    /// The attributes in document order, as (name, value).
    public var attributes: [(name: String, value: String)] { attributes(withPrefix: nil) }

    /// The attributes whose name starts with `prefix` (all when nil): marker lookups read
    /// only the few attributes they need.
    public func attributes(withPrefix prefix: String?) -> [(name: String, value: String)] {
        var result: [(String, String)] = []
        var next = pointer.pointee.properties
        let prefixBytes = prefix.map { Array($0.utf8) } ?? []
        while let attribute = next {
            next = attribute.pointee.next
            guard let rawName = attribute.pointee.name else { continue }
            if !prefixBytes.isEmpty {
                var matches = true
                for (index, byte) in prefixBytes.enumerated() where rawName[index] != byte {
                    matches = false
                    break
                }
                if !matches { continue }
            }
            let value = xmlNodeListGetString(documentPointer, attribute.pointee.children, 1)
            defer { if let value { pluralism_xml_free(value) } }
            result.append((String(cString: rawName), value.map { String(cString: $0) } ?? ""))
        }
        return result
    }

    /// Whether the element has the attribute.
    public func hasAttribute(_ name: String) -> Bool { xmlHasProp(pointer, name) != nil }

    /// An attribute's value, nil when absent.
    public func attribute(_ name: String) -> String? {
        guard let value = xmlGetProp(pointer, name) else { return nil }
        defer { pluralism_xml_free(value) }
        return String(cString: value)
    }

    /// Sets an attribute through libxml2's attribute API: the value is stored as it is and
    /// quoted when serialised, never parsed for entities or markup.
    public func setAttribute(_ name: String, _ value: String) {
        xmlSetProp(pointer, name, HTMLText.clean(value))
    }

    /// Adds class names to the `class` attribute.
    public func addClasses(_ names: [String]) {
        guard !names.isEmpty else { return }
        let existing = attribute("class").map { $0.split(separator: " ").map(String.init) } ?? []
        setAttribute("class", (existing + names.filter { !existing.contains($0) }).joined(separator: " "))
    }

    /// Replaces the node's children with one text node.
    public func setText(_ text: String) {
        removeChildren()
        appendText(text)
    }

    /// Removes (and frees) every child.
    public func removeChildren() {
        var next = pointer.pointee.children
        while let child = next {
            next = child.pointee.next
            xmlUnlinkNode(child)
            xmlFreeNode(child)
        }
    }

    /// Appends a text node holding `text` literally (libxml2 escapes it when serialising).
    public func appendText(_ text: String) {
        guard !text.isEmpty else { return }
        appendCleanText(HTMLText.clean(text))
    }

    /// Appends text already passed through `HTMLText.clean`.
    func appendCleanText(_ text: String) {
        guard !text.isEmpty else { return }
        xmlAddChild(pointer, xmlNewDocText(documentPointer, text))
    }

    /// Appends a new element and returns it.
    @discardableResult
    public func appendElement(_ name: String, attributes: KeyValuePairs<String, String> = [:], text: String? = nil) -> HTMLNode {
        let node = HTMLNode(pointer: xmlNewDocNode(documentPointer, nil, name, nil), document: owner)
        for (key, value) in attributes { node.setAttribute(key, value) }
        if let text { node.appendText(text) }
        xmlAddChild(pointer, node.pointer)
        return node
    }

    /// A deep copy of the node, in the same document but not yet in the tree.
    public func clone() -> HTMLNode {
        HTMLNode(pointer: xmlDocCopyNode(pointer, documentPointer, 1), document: owner)
    }

    /// Inserts `node` just before this one.
    public func insertBefore(_ node: HTMLNode) {
        xmlAddPrevSibling(pointer, node.pointer)
    }

    /// Takes the node out of the tree and frees it.
    public func remove() {
        xmlUnlinkNode(pointer)
        xmlFreeNode(pointer)
    }

    /// The elements below this one (itself excluded), in document order.
    public func descendants() -> [HTMLNode] {
        var found: [HTMLNode] = []
        func visit(_ node: HTMLNode) {
            for child in node.children where child.isElement {
                found.append(child)
                visit(child)
            }
        }
        visit(self)
        return found
    }
}

/// Text on its way into a document.
enum HTMLText {
    /// `text` with every character that may not appear in an HTML page replaced by U+FFFD:
    /// NUL (which would end the C string early), the other C0 and C1 controls except tab,
    /// line feed and carriage return, DEL, and the noncharacters U+FFFE and U+FFFF. Invalid
    /// UTF-8 never gets this far: reading from the corpus already replaced it with U+FFFD.
    static func clean(_ text: String) -> String {
        guard anyByte(of: text, where: needsLook) else { return text }
        return replacingDisallowed(text)
    }

    /// `clean(text)`, and whether the text holds right-to-left letters or bidirectional
    /// controls, from one look at its bytes when it is plain (as nearly all text is).
    static func cleanAndClassify(_ text: String) -> (text: String, bidirectional: Bool) {
        var needsCleaning = false, mayBeBidirectional = false
        var copy = text
        copy.withUTF8 { bytes in
            for byte in bytes {
                if byte >= 0xD6 { mayBeBidirectional = true }
                if needsLook(byte) { needsCleaning = true }
            }
        }
        let cleaned = needsCleaning ? replacingDisallowed(text) : text
        return (cleaned, mayBeBidirectional && hasBidirectionalCharacters(cleaned))
    }

    private static func replacingDisallowed(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(isAllowed(scalar) ? scalar : "\u{FFFD}")
        }
        return String(scalars)
    }

    /// Whether any UTF-8 byte of `text` passes `test`, read from the string's own storage.
    private static func anyByte(of text: String, where test: (UInt8) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in bytes.contains(where: test) }
    }

    /// Whether `text` holds a right-to-left letter (Hebrew, Arabic, Syriac, Thaana, N'Ko, …)
    /// or a bidirectional control (marks, embeddings, overrides, isolates).
    static func hasBidirectionalCharacters(_ text: String) -> Bool {
        // Every such character is encoded from byte 0xD6 (U+0590) or in the E2 80/81 (U+2000…)
        // and EF/F0 ranges; plain Latin text is rejected on bytes alone.
        guard anyByte(of: text, where: { $0 >= 0xD6 }) else { return false }
        return text.unicodeScalars.contains { scalar in
            switch scalar.value {
            case 0x0590...0x08FF, 0x200E...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFB1D...0xFDFF, 0xFE70...0xFEFF,
                 0x10800...0x10FFF, 0x1E800...0x1EFFF: true
            default: false
            }
        }
    }

    /// A byte that may start or be part of a disallowed character (fast path: plain text
    /// has none).
    private static func needsLook(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D) || byte == 0x7F || byte == 0xC2 || byte == 0xEF
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: true
        case 0x00...0x1F, 0x7F...0x9F, 0xFFFE, 0xFFFF: false
        default: true
        }
    }
}

/// A problem libxml2 reported while parsing.
public struct HTMLProblem: Sendable, CustomStringConvertible {
    /// libxml2's error code (`xmlParserErrors`), e.g. 801 for a tag HTML 4 does not know.
    public var code: Int
    public var line: Int
    public var message: String

    /// libxml2 2.9's parser knows HTML 4 only: it reports HTML5 elements (`<main>`,
    /// `<details>`, `<svg>`) as unknown tags and keeps them as they are.
    public var isUnknownTag: Bool { code == Int(XML_HTML_UNKNOWN_TAG.rawValue) }

    public var description: String { "line \(line): \(message)" }
}

private final class ProblemCollector {
    var problems: [HTMLProblem] = []

    func record(_ error: xmlError) {
        let message = error.message.map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown problem"
        problems.append(HTMLProblem(code: Int(error.code), line: Int(error.line), message: message))
    }
}

/// A document libxml2 could not build or write.
public enum HTMLError: Error, CustomStringConvertible, Sendable {
    case parserUnavailable(String)
    case unparsable(String, String)
    case serialisationFailed(String)

    public var description: String {
        switch self {
        case .parserUnavailable(let name): "\(name): libxml2 could not create a parser"
        case .unparsable(let name, let reason): "\(name): not parsable as HTML: \(reason)"
        case .serialisationFailed(let target): "cannot write HTML to \(target)"
        }
    }
}
