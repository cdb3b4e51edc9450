import Foundation

/// The templates of a site, one per page kind, read from one folder and checked together
/// before anything is rendered; the folder's other files (the stylesheet) are copied beside
/// the pages.
public struct TemplateSet: Sendable {
    public let folder: String
    let index: Template
    let run: Template
    let items: Template
    let community: Template
    let item: Template
    let diff: Template
    /// Files copied into the site as they are (every file but templates and notes).
    let assets: [String]

    /// Page kinds, their template files and the slots each offers.
    static let pages: [(file: String, schema: SlotSchema)] = [
        ("index.html", IndexPage.schema), ("run.html", RunPage.schema), ("items.html", ItemsPage.schema),
        ("community.html", CommunityPage.schema), ("item.html", ItemPage.schema), ("diff.html", DiffPage.schema),
    ]

    /// Loads and checks every template in `folder`. Throws `TemplateErrors` with every problem
    /// of every template, or `SiteError.missingTemplates`.
    public init(folder: String) throws {
        let fileManager = FileManager.default
        var isFolder: ObjCBool = false
        guard fileManager.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw SiteError.missingTemplates(folder, "no such folder")
        }
        let missing = Self.pages.map(\.file).filter { !fileManager.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
        if !missing.isEmpty { throw SiteError.missingTemplates(folder, "missing \(missing.joined(separator: ", "))") }
        guard fileManager.fileExists(atPath: (folder as NSString).appendingPathComponent(SiteAssets.stylesheet)) else {
            throw SiteError.missingTemplates(folder, "missing \(SiteAssets.stylesheet)")
        }
        var templates: [String: Template] = [:]
        var errors: [TemplateError] = []
        for (file, schema) in Self.pages {
            do {
                templates[file] = try Template(file: (folder as NSString).appendingPathComponent(file), schema: schema)
            } catch let problems as TemplateErrors {
                errors += problems.errors
            }
        }
        if !errors.isEmpty { throw TemplateErrors(errors: errors) }
        self.folder = folder
        index = templates["index.html"]!
        run = templates["run.html"]!
        items = templates["items.html"]!
        community = templates["community.html"]!
        item = templates["item.html"]!
        diff = templates["diff.html"]!
        let entries = (try? fileManager.contentsOfDirectory(atPath: folder)) ?? []
        assets = entries.sorted().filter { name in
            var isFolder: ObjCBool = false
            let path = (folder as NSString).appendingPathComponent(name)
            return !name.hasPrefix(".") && !name.hasSuffix(".html") && !name.hasSuffix(".md")
                && fileManager.fileExists(atPath: path, isDirectory: &isFolder) && !isFolder.boolValue && SitePath.isSafeName(name)
        }
    }

    /// The templates folder to use when none is given: `templates/` in the current folder,
    /// else the one of the source tree the running binary was built in (`.build/…/pluralism`
    /// → the repository's `templates/`).
    public static func defaultFolder() -> String {
        let fileManager = FileManager.default
        let here = fileManager.currentDirectoryPath + "/templates"
        if fileManager.fileExists(atPath: here + "/index.html") { return here }
        guard let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return here }
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = folder.appendingPathComponent("templates").path
            if fileManager.fileExists(atPath: candidate + "/index.html") { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return here
    }
}
