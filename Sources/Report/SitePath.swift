import ContentHash
import Foundation

/// Where a page lives in the site, relative to the site's folder. Built only from fixed
/// folder names and `SitePath.segment(for:)`, so no id from the corpus can choose a path
/// (`..`, `/`, a scheme like `javascript:`).
///
/// Layout:
///
///     index.html                               every run
///     style.css                                (and the templates folder's other assets)
///     runs/<run>/index.html                    the run page
///     runs/<run>/items.html                    the run's items
///     runs/<run>/items/<item>.html             one item
///     runs/<run>/communities/<community>.html  one community (…~2.html, ~3: further pages)
///     diffs/<run A>/<run B>.html               run B compared with run A
public struct SitePath: Hashable, Sendable, CustomStringConvertible {
    /// Folder names, then the file name.
    public let components: [String]

    init(_ components: [String]) {
        self.components = components
    }

    public static let index = SitePath(["index.html"])
    static func asset(_ name: String) -> SitePath { SitePath([segment(for: name)]) }
    static func run(_ runID: String) -> SitePath { SitePath(["runs", segment(for: runID), "index.html"]) }
    static func items(_ runID: String) -> SitePath { SitePath(["runs", segment(for: runID), "items.html"]) }
    static func item(_ runID: String, _ itemID: String) -> SitePath {
        SitePath(["runs", segment(for: runID), "items", segment(for: itemID) + ".html"])
    }
    /// Page `page` (1-based) of a community's items.
    static func community(_ runID: String, _ name: String, page: Int = 1) -> SitePath {
        let file = segment(for: name) + (page > 1 ? "~\(page)" : "") + ".html"
        return SitePath(["runs", segment(for: runID), "communities", file])
    }
    static func diff(_ runA: String, _ runB: String) -> SitePath {
        SitePath(["diffs", segment(for: runA), segment(for: runB) + ".html"])
    }

    /// The path as a relative file path inside the site folder.
    public var description: String { components.joined(separator: "/") }

    /// A relative link from the page at `page` to this one, each segment percent-encoded.
    public func href(from page: SitePath) -> String {
        let from = page.components.dropLast()
        let to = components
        var shared = 0
        while shared < from.count && shared < to.count - 1 && from[from.startIndex + shared] == to[shared] { shared += 1 }
        let up = Array(repeating: "..", count: from.count - shared)
        return (up + to[shared...].map(Self.percentEncoded)).joined(separator: "/")
    }

    /// Letters, digits and `-._~` pass; every other byte of the UTF-8 is `%XX`.
    static func percentEncoded(_ segment: String) -> String {
        var result = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    /// The file-name segment for an id. An id that is a safe name (a letter or digit, then up
    /// to 99 letters, digits, `.`, `_`, `-`; the rule the inputs enforce for item ids) is used
    /// as it is. Any other id (from a hand-edited or foreign corpus) is named by a hash of it
    /// instead: `_` and 16 hex digits, which no safe name can equal.
    static func segment(for id: String) -> String {
        if isSafeName(id) { return id }
        return "_" + String(SHA256.hex(Array(id.utf8)).prefix(16))
    }

    static func isSafeName(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...100).contains(bytes.count), isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
