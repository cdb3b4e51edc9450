import ContentHash

/// The version of the pipeline's prompts and stage logic, recorded in every run manifest and
/// part of the run id: a release that changes a prompt starts a new run, while unchanged
/// calls still replay from the archive.
public enum PipelineVersion {
    public static let current = "pluralism 0.1.0"
}

/// How a run is named: the same config, input files and tool version always give the same
/// run id, so running again resumes (or does nothing); any change gives a new run in the same
/// corpus file, whose unchanged calls replay from the archive.
public enum RunIdentity {
    /// First 16 hex digits of sha256 over the config's canonical JSON, the input files'
    /// hashes sorted by path (`path=hash` lines) and the tool version.
    public static func id(config: RunConfig, fileHashes: [String: String], toolVersion: String = PipelineVersion.current) -> String {
        var hash = SHA256()
        hash.update("config\n")
        hash.update(config.canonicalJSON)
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
