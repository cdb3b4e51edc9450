import ContentHash
import Foundation
import Testing
@testable import Pluralism

/// The inputs a fresh clone runs, and the normalised config stored with each run.
struct InputsDefaultTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let defaultConfig = repositoryRoot + "/inputs/run.json"

    @Test func defaultInputsLoadCleanly() throws {
        let inputs = try InputLoader.load(configPath: Self.defaultConfig)
        let config = inputs.config
        #expect(config.pools == ["perspective", "culture"])
        #expect(config.communities(inPool: "perspective").map(\.name)
                == ["news-left", "news-center", "news-right", "social-left", "social-center", "social-right"])
        #expect(config.communities(inPool: "culture").map(\.name) == ["africa", "asia", "europe", "north-america", "south-america"])
        #expect(config.methods == Method.allCases)
        #expect(config.commentDecoding == Decoding(temperature: 1.0, topP: 0.9, maxTokens: 200, seed: config.seed))
        #expect(config.baseDecoding == Decoding(temperature: 0.1, topP: 1.0, maxTokens: 200, seed: config.seed))
        #expect(config.distributionTopLogprobs == 20)
        #expect(config.debias == DebiasSettings(rotations: .all, passages: .shuffled))
        #expect(config.communities.allSatisfy { $0.label != nil })
        #expect(config.populations.filter { $0.label != nil }.map(\.name) == ["kenya", "japan", "germany", "united-states", "brazil"])
        for community in config.communities {
            let words = community.profile.split(whereSeparator: \.isWhitespace).count
            #expect((150...250).contains(words), "\(community.name): profile has \(words) words")
            #expect(community.model == .embedded)
        }

        let byMode = Dictionary(grouping: inputs.items, by: \.mode)
        for mode in ItemMode.allCases {
            #expect(byMode[mode, default: []].count >= 12, "\(mode): \(byMode[mode, default: []].count) items")
        }
        #expect(byMode[.overton]!.allSatisfy { (3...5).contains($0.values.count) && $0.pool == "perspective" })
        #expect(byMode[.steerable]!.allSatisfy { $0.attribute != nil && $0.pool == "perspective" })
        #expect(byMode[.steerable]!.contains { $0.options.isEmpty })
        #expect(byMode[.steerable]!.contains { $0.options.count == 3 && $0.gold != nil })
        #expect(byMode[.distributional]!.allSatisfy { $0.pool == "culture" && (2...26).contains($0.options.count) })
        #expect(byMode[.distributional]!.contains { $0.goldDistribution != nil && $0.population != nil })
        #expect(byMode[.distributional]!.contains { $0.population == nil })
        #expect(Set(inputs.items.map(\.id)).count == inputs.items.count)

        let profiles = config.communities.map { "communities/\($0.name).md" }
        let expectedFiles = ["run.json", "questions/overton.jsonl", "questions/steerable.jsonl", "questions/distributional.jsonl"] + profiles
        #expect(Set(inputs.fileHashes.keys) == Set(expectedFiles))
        let configBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.defaultConfig)))
        #expect(inputs.fileHashes["run.json"] == SHA256.hex(configBytes))
    }

    @Test func loadingTwiceGivesTheSameCanonicalText() throws {
        let first = try InputLoader.load(configPath: Self.defaultConfig)
        let second = try InputLoader.load(configPath: Self.defaultConfig)
        #expect(first.config.canonicalJSON == second.config.canonicalJSON)
        #expect(first.items.map(\.contentJSON) == second.items.map(\.contentJSON))
        #expect(first.fileHashes == second.fileHashes)
        let profile = try #require(first.config.communities.first?.profile)
        #expect(first.config.canonicalJSON.contains(String(JSON.string(profile).canonical.dropFirst().dropLast())))
        _ = try JSONParser.parse(first.config.canonicalJSON)
    }

    @Test func canonicalConfigFillsDefaultsAndIgnoresLayout() throws {
        let minimal = InputsScratchFolder.config()
        let explicit = InputsScratchFolder.config(extra: """
              "name": "run",
              "seed": 0,
              "base_model": {"backend": "embedded"},
              "methods": ["overton", "steerable", "distributional", "vanilla", "prompting", "moe"],
              "decoding": {"comment": {"temperature": 1, "top_p": 0.9, "top_k": 0, "max_tokens": 200},
                           "base": {"temperature": 0.1, "top_p": 1.0, "max_tokens": 200}},
              "distribution_top_logprobs": 20,

            """)
        let reflowed = minimal.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: ": ", with: ":")
        var canonical: [String] = []
        var configHashes: Set<String> = []
        for text in [minimal, explicit, reflowed] {
            let folder = try InputsScratchFolder(["run.json": text, "q.jsonl": InputsScratchFolder.overton])
            defer { folder.remove() }
            let inputs = try folder.load()
            canonical.append(inputs.config.canonicalJSON)
            configHashes.insert(inputs.fileHashes["run.json"]!)
        }
        #expect(Set(canonical).count == 1)
        #expect(configHashes.count == 3)
        #expect(canonical[0].hasPrefix(#"{"base_model":{"backend":"embedded"},"debias":{"passages":"shuffled","rotations":"all"},"decoding":{"base":{"max_tokens":200,"seed":0,"temperature":0.1,"top_k":0,"top_p":1},"#))
    }

    @Test func editingAProfileChangesTheCanonicalConfig() throws {
        let config = InputsScratchFolder.config(a: #""name": "a", "description": "A.", "system_prompt": "S.", "profile": "profiles/a.md""#)
        var canonical: [String] = []
        var hashes: [[String: String]] = []
        for profile in ["We value thrift.\n", "We value thrift and candour.\n"] {
            let folder = try InputsScratchFolder(["run.json": config, "profiles/a.md": profile, "q.jsonl": InputsScratchFolder.overton])
            defer { folder.remove() }
            let inputs = try folder.load()
            #expect(inputs.config.communities[0].profile == profile.trimmingSurroundingWhitespace)
            canonical.append(inputs.config.canonicalJSON)
            hashes.append(inputs.fileHashes)
        }
        #expect(canonical[0] != canonical[1])
        #expect(canonical[1].contains(#""profile":"We value thrift and candour.""#))
        #expect(Set(hashes[0].keys) == ["run.json", "profiles/a.md", "q.jsonl"])
        #expect(hashes[0]["profiles/a.md"] == SHA256.hex("We value thrift.\n"))
        #expect(hashes[0]["run.json"] == hashes[1]["run.json"])
        #expect(hashes[0]["profiles/a.md"] != hashes[1]["profiles/a.md"])
    }
}
