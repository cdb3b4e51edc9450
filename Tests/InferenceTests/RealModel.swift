import Foundation
import Testing
@testable import Inference

/// The cached real models, for the tests that need them. A missing file is a visible skip
/// naming the fetch command, except under `CI=true`, where the tests run and fail (CI must
/// not pass by skipping them); a file that is there but does not load is always a failure.
enum RealModel {
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static var present: Bool { (try? ModelStore().locate(ModelStore.defaultModel)) != nil }
    /// Whether the SmolLM2 tests run.
    static var enabled: Bool { present || inCI }
    static let skipReason: Comment =
        "needs SmolLM2-135M-Instruct.Q4_1.gguf: run `pluralism models fetch` (with CI=true this test fails instead of skipping)"

    /// The model file, or the store's error naming `pluralism models fetch`.
    static func path() throws -> String { try ModelStore().locate(ModelStore.defaultModel) }

    private static let loaded = Result { try Engine(modelPath: path(), threads: 2) }
    /// One engine for the tests (loading maps the file; cheap, but shared anyway); a load
    /// error is rethrown in every test that asks.
    static func engine() throws -> Engine { try loaded.get() }
}
