import Foundation
@testable import Pluralism

/// A temporary folder holding a run config and its files, for validation tests: each test
/// writes exactly the inputs it needs, so line numbers in expected errors are visible in
/// the test itself.
struct InputsScratchFolder {
    let path: String

    init(_ files: [String: String]) throws {
        path = FileManager.default.temporaryDirectory.path + "/pluralism-inputs-" + UUID().uuidString
        for (relative, text) in files {
            let full = path + "/" + relative
            let folder = (full as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
    }

    func file(_ relative: String) -> String { path + "/" + relative }

    func load(_ config: String = "run.json") throws -> RunInputs {
        try InputLoader.load(configPath: file(config))
    }

    /// The errors loading reports; fails the caller's expectations by returning [] when
    /// loading succeeds.
    func errors(_ config: String = "run.json") -> [InputError] {
        do {
            _ = try load(config)
            return []
        } catch let errors as InputErrors {
            return errors.errors
        } catch {
            return [InputError(file: "", line: 0, field: "", message: "unexpected error: \(error)")]
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A small valid config: pool `p` with communities `a` and `b`, population `pop`, and
    /// one question file `q.jsonl` answered by `p`. One member per line, so line numbers are
    /// easy to read off: `"pools"` is on line 2, community `a` on 3, `b` on 4, then `extra`
    /// (each of its lines ending in a newline), then populations and questions.
    static func config(a: String = #""name": "a", "description": "Community A.", "system_prompt": "You are A.""#,
                       b: String = #""name": "b", "description": "Community B.", "system_prompt": "You are B.""#,
                       extra: String = "",
                       populations: String = #"{"pop": {"a": 2}}"#,
                       questions: String = #"[{"file": "q.jsonl", "pool": "p"}]"#) -> String {
        """
        {
          "pools": [{"name": "p", "communities": [
            {\(a)},
            {\(b)}]}],
        \(extra)  "populations": \(populations),
          "questions": \(questions)
        }

        """
    }

    static let overton = #"{"id": "o1", "mode": "overton", "situation": "Keeping a found wallet."}"#
    static let distributional = #"{"id": "d1", "mode": "distributional", "question": "Which?", "options": ["x", "y"]}"#
}
