import Foundation

/// Writes a site into a temporary folder beside its destination and swaps it in only when
/// every page is written: a failed or interrupted render never deletes or half-overwrites
/// an earlier site.
///
/// The destination is replaced only when it is absent, empty, or a site this tool wrote
/// (it holds the `.pluralism-site` stamp), so `--out` pointed at a folder of other files is
/// refused instead of emptied.
final class SiteWriter: @unchecked Sendable {
    /// The file that marks a folder as a rendered site.
    static let stamp = ".pluralism-site"

    let destination: String
    let staging: String
    private let lock = NSLock()
    private var folders: Set<String> = []
    private var pages = 0

    init(destination: String) throws {
        let fileManager = FileManager.default
        let destination = (destination as NSString).standardizingPath
        var isFolder: ObjCBool = false
        if fileManager.fileExists(atPath: destination, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw SiteError.notASite(destination, "it is a file") }
            let entries = (try? fileManager.contentsOfDirectory(atPath: destination)) ?? []
            if !entries.isEmpty && !entries.contains(Self.stamp) {
                throw SiteError.notASite(destination, "it holds files this tool did not write (no \(Self.stamp))")
            }
        }
        let parent = (destination as NSString).deletingLastPathComponent
        let base = (destination as NSString).lastPathComponent
        let staging = ((parent.isEmpty ? "." : parent) as NSString).appendingPathComponent(".\(base).partial-\(UUID().uuidString)")
        do {
            try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw SiteError.cannotWrite(staging, error.localizedDescription)
        }
        self.destination = destination
        self.staging = staging
    }

    /// How many pages were written so far.
    var pageCount: Int { lock.withLock { pages } }

    /// The staging file for a site path, its folder created on first use.
    private func file(for path: SitePath) throws -> String {
        let folder = path.components.dropLast().reduce(staging) { ($0 as NSString).appendingPathComponent($1) }
        // Created under the lock: another thread must not write into a folder it was told
        // exists before it does.
        try lock.withLock {
            guard !folders.contains(folder) else { return }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw SiteError.cannotWrite(folder, error.localizedDescription)
            }
            folders.insert(folder)
        }
        return (folder as NSString).appendingPathComponent(path.components.last!)
    }

    func write(_ page: HTMLDocument, at path: SitePath) throws {
        let file = try file(for: path)
        do {
            try page.write(to: file)
        } catch {
            throw SiteError.cannotWrite(file, "\(error)")
        }
        lock.withLock { pages += 1 }
    }

    func copyAsset(from source: String, to path: SitePath) throws {
        let file = try file(for: path)
        do {
            try FileManager.default.copyItem(atPath: source, toPath: file)
        } catch {
            throw SiteError.cannotWrite(file, error.localizedDescription)
        }
    }

    /// Stamps the new site and puts it in place of the destination: the old site is moved
    /// aside, the new one renamed in, and the old one deleted; if the rename fails, the old
    /// site is moved back.
    func commit() throws {
        let fileManager = FileManager.default
        guard fileManager.createFile(
            atPath: (staging as NSString).appendingPathComponent(Self.stamp),
            contents: Data("A site rendered by `pluralism report`; replaced whole by the next render.\n".utf8))
        else { throw SiteError.cannotWrite(staging, "cannot write \(Self.stamp)") }
        var aside: String?
        if fileManager.fileExists(atPath: destination) {
            let old = staging.replacingOccurrences(of: ".partial-", with: ".old-")
            guard rename(destination, old) == 0 else {
                throw SiteError.cannotWrite(destination, "cannot move the earlier site aside: \(String(cString: strerror(errno)))")
            }
            aside = old
        }
        guard rename(staging, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            if let aside { _ = rename(aside, destination) }
            throw SiteError.cannotWrite(destination, "cannot move the new site in place: \(reason)")
        }
        if let aside { try? fileManager.removeItem(atPath: aside) }
    }

    /// Deletes the staging folder (after a failure); the destination is untouched.
    func discard() {
        try? FileManager.default.removeItem(atPath: staging)
    }
}

/// Why a site could not be written.
public enum SiteError: Error, CustomStringConvertible, Sendable {
    case notASite(String, String)
    case cannotWrite(String, String)
    case missingTemplates(String, String)

    public var description: String {
        switch self {
        case .notASite(let path, let reason):
            "will not replace \(path) with a site: \(reason); choose another --out"
        case .cannotWrite(let path, let reason):
            "cannot write \(path): \(reason) (any earlier site is unchanged)"
        case .missingTemplates(let folder, let reason):
            "no report templates in \(folder): \(reason) (pass --templates DIR, or run from the repository root)"
        }
    }
}
