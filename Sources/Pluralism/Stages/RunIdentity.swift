import ContentHash

/// The version of the pipeline's prompts and stage logic, recorded in every run manifest and
/// part of the run id: a release that changes a prompt starts a new run (instead of resuming
/// a stored run with a mix of old and new prompts), while unchanged calls still replay from
/// the archive.
public enum PipelineVersion {
    public static let release = "0.1.0"

    /// `pluralism <release> prompts <hash>`, where the hash covers every prompt rendered for
    /// sample items and the fixed decoding choices of the base-model steps, so editing a
    /// prompt changes the version without anyone remembering to bump it.
    public static let current = "pluralism \(release) prompts \(String(promptFingerprint.prefix(12)))"

    static var promptFingerprint: String {
        let community = CommunitySpec(name: "c", pool: "p", description: "d", systemPrompt: "s", profile: "f",
                                      decoding: RunConfig.defaultCommentDecoding)
        let items = [
            Item(id: "o", mode: .overton, pool: "p", sourceFile: "", line: 1, text: "t"),
            Item(id: "s", mode: .steerable, pool: "p", sourceFile: "", line: 1, text: "t", attribute: "a"),
            Item(id: "v", mode: .steerable, pool: "p", sourceFile: "", line: 1, text: "t", attribute: "a",
                 options: ["supports", "opposes", "either"]),
            Item(id: "m", mode: .steerable, pool: "p", sourceFile: "", line: 1, text: "t", attribute: "a", options: ["x", "y"]),
            Item(id: "d", mode: .distributional, pool: "p", sourceFile: "", line: 1, text: "t", options: ["x", "y"], population: "q"),
        ]
        var conversations: [[ChatMessage]] = []
        for item in items {
            let order = Array(item.options.indices)
            conversations.append(Prompts.comment(item: item, community: community))
            conversations.append(Prompts.overton(item: item, comments: ["u", "v"]))
            for labels in [Prompts.CandidateLabels.letters, .numbers] {
                conversations.append(Prompts.steerableSelection(item: item, comments: ["u", "v"], labels: labels))
                conversations.append(Prompts.expertSelection(item: item, experts: [("c", "d"), (nil, "f")], labels: labels))
            }
            conversations.append(Prompts.answerWithPassage(item: item, passage: "u"))
            if !order.isEmpty { conversations.append(Prompts.choiceWithPassage(item: item, passage: "u", order: order.reversed())) }
            conversations.append(Prompts.vanilla(item: item, order: order))
            conversations.append(Prompts.prompting(item: item, population: Population(name: "q", label: "Q"), order: order))
            conversations.append(Prompts.prompting(item: item, population: nil, order: order))
        }
        var hash = SHA256()
        for conversation in conversations {
            for message in conversation { hash.update("\(message.role.rawValue)\u{0}\(message.content)\u{0}") }
            hash.update("\u{1}")
        }
        hash.update("selection max tokens \(Synthesizer.selectionMaxTokens); choice \(Synthesizer.choiceDecoding(seed: 0)); "
            + "rotations \(Rotations.order(count: 3, offset: 1)); tie tolerance \(Choice.tolerance); "
            + "selection reader \(SelectionParser.version)")
        return hash.finalize().hexString
    }
}

/// How a run is named: the same config, input files and tool version always give the same
/// run id, so running again resumes (or does nothing); any change gives a new run in the same
/// corpus file, whose unchanged calls replay from the archive.
public enum RunIdentity {
    /// First 16 hex digits of sha256 over the config's identity JSON (its canonical JSON
    /// without the model knobs that cannot change an answer), the input files' hashes sorted
    /// by path (`path=hash` lines) and the tool version.
    public static func id(config: RunConfig, fileHashes: [String: String], toolVersion: String = PipelineVersion.current) -> String {
        var hash = SHA256()
        hash.update("config\n")
        hash.update(config.identityJSON)
        hash.update("\ninputs\n")
        for path in fileHashes.keys.sorted() {
            hash.update("\(path)=\(fileHashes[path]!)\n")
        }
        hash.update("tool\n")
        hash.update(toolVersion)
        return String(hash.finalize().hexString.prefix(16))
    }
}

/// Seeds for individual model calls.
///
/// Each call's seed is derived from the run seed and what the call is for (item, community or
/// method step, sample index), never from a counter or the order of work, so a call's answer
/// does not depend on batching, thread count or which items ran first — and an unchanged call
/// in a changed run has the same archive key.
public enum CallSeed {
    /// The first 8 bytes (big-endian) of sha256("<run seed>|<item id>|<purpose>|<sample>").
    public static func derive(runSeed: UInt64, itemID: String, purpose: String, sampleIndex: Int = 0) -> UInt64 {
        var hash = SHA256()
        hash.update("\(runSeed)|\(itemID)|\(purpose)|\(sampleIndex)")
        return hash.finalize().prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
