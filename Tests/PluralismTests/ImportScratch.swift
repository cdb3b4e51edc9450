import Foundation
@testable import Pluralism

/// Where the importer tests find their fixtures and write their outputs: each test imports
/// into its own temporary folder and can load the result through the real input loader.
struct ImportScratch {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/import").path

    let folder: InputsScratchFolder

    init(_ files: [String: String] = [:]) throws {
        folder = try InputsScratchFolder(files)
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
    }

    var path: String { folder.path }
    func file(_ relative: String) -> String { folder.file(relative) }
    func remove() { folder.remove() }

    static func fixture(_ relative: String) -> String { fixtures + "/" + relative }

    /// Imports into `out` (in the scratch folder) and returns the summary.
    func run(_ importer: some DatasetImporter, _ paths: [String], options: ImportOptions = ImportOptions(),
             out: String = "items.jsonl") throws -> ImportSummary {
        try DatasetImport.run(importer, paths: paths, options: options, out: file(out))
    }

    /// The errors a failing import reports (none when it succeeds).
    func errors(_ importer: some DatasetImporter, _ paths: [String], out: String = "items.jsonl") -> [InputError] {
        do {
            _ = try run(importer, paths, out: out)
            return []
        } catch let errors as InputErrors {
            return errors.errors
        } catch {
            return [InputError(file: "", line: 0, field: "", message: "unexpected error: \(error)")]
        }
    }

    func lines(_ out: String = "items.jsonl") throws -> [String] {
        try String(contentsOfFile: file(out), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Writes a run config built from the import's config snippet (one pool `pool` of two
    /// communities) and loads it with the real input loader, as `pluralism ingest` does.
    func load(summary: ImportSummary, pool: String, out: String = "items.jsonl") throws -> RunInputs {
        let snippet = DatasetImport.configSnippet(file: out, pool: pool, summary: summary)
        let pools = #"  "pools": [{"name": "\#(pool)", "communities": [{"name": "a", "description": "A.", "system_prompt": "You are A."}, {"name": "b", "description": "B.", "system_prompt": "You are B."}]}],"#
        let config = "{\n" + pools + "\n" + snippet.dropFirst(2)
        try config.write(toFile: file("run.json"), atomically: true, encoding: .utf8)
        return try folder.load()
    }
}
