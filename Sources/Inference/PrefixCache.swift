// Prompt prefixes already computed, kept so that a later prompt starting with the same
// tokens copies their keys and values instead of running them through the model again.
//
// The key and value at a position depend only on the tokens up to it (every kernel computes
// each output the same way whatever the batch), so a copied prefix holds exactly the bits a
// fresh prefill would write: reuse never changes a token or a log-probability.

/// What prefix reuse saved, counted over the prompts the engine has started.
public struct PrefixReuseTally: Sendable, Codable, Equatable {
    /// Prompts started.
    public var prompts = 0
    /// Their tokens, all together.
    public var promptTokens = 0
    /// Prompts that started from a stored prefix.
    public var hits = 0
    /// Prompt tokens copied from stored prefixes instead of computed.
    public var reusedTokens = 0

    public init() {}

    /// The share of prompt tokens that were not computed again.
    public var tokenHitRate: Double { promptTokens == 0 ? 0 : Double(reusedTokens) / Double(promptTokens) }
}

/// A least-recently-used store of computed prompts, bounded in bytes. Each entry is a
/// prompt's tokens and its keys and values; any later prompt may reuse the positions it has
/// in common with an entry (the longest common prefix over all entries), so prompts that
/// share a system message, a profile or the passage before a list of options all benefit.
final class PrefixCache {
    private struct Entry {
        var tokens: [Int32]
        var cache: KVCache
        var lastUse: Int
    }

    /// The most bytes the stored keys and values may take; 0 turns reuse off.
    let budgetBytes: Int
    private var entries: [Entry] = []
    private var clock = 0
    private(set) var usedBytes = 0
    var tally = PrefixReuseTally()

    init(budgetBytes: Int) {
        self.budgetBytes = max(0, budgetBytes)
    }

    /// The entry sharing the longest prefix with `prompt`, and that length, capped at
    /// `prompt.count - 1` (the last prompt token must still go through the model to give
    /// the first step's logits). Nil when no entry shares a token.
    func longestMatch(_ prompt: [Int32]) -> (cache: KVCache, length: Int)? {
        var best: (index: Int, length: Int)?
        let limit = prompt.count - 1
        for (i, entry) in entries.enumerated() {
            let length = commonPrefix(entry.tokens, prompt, limit: limit)
            if length > (best?.length ?? 0) { best = (i, length) }
        }
        guard let best else { return nil }
        clock += 1
        entries[best.index].lastUse = clock
        return (entries[best.index].cache, best.length)
    }

    /// The length `longestMatch` would give, without counting as a use.
    func matchLength(_ prompt: [Int32]) -> Int {
        entries.reduce(0) { max($0, commonPrefix($1.tokens, prompt, limit: prompt.count - 1)) }
    }

    /// Stores the first `tokens.count` positions of `cache` (the prompt just computed),
    /// evicting the least recently used entries to stay within the budget. A prompt that an
    /// entry already covers only refreshes that entry.
    func store(_ tokens: [Int32], from cache: KVCache) {
        guard !tokens.isEmpty, budgetBytes > 0 else { return }
        clock += 1
        if let i = entries.firstIndex(where: { commonPrefix($0.tokens, tokens, limit: tokens.count) == tokens.count }) {
            entries[i].lastUse = clock
            return
        }
        let bytes = tokens.count * cache.bytesPerPosition
        guard bytes <= budgetBytes else { return }
        // An entry this prompt extends is superseded by it.
        entries.removeAll { entry in
            let covered = commonPrefix(entry.tokens, tokens, limit: entry.tokens.count) == entry.tokens.count
            if covered { usedBytes -= entry.tokens.count * entry.cache.bytesPerPosition }
            return covered
        }
        while usedBytes + bytes > budgetBytes, let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse }) {
            usedBytes -= entries[oldest].tokens.count * entries[oldest].cache.bytesPerPosition
            entries.remove(at: oldest)
        }
        let copy = KVCache(layers: cache.layers, width: cache.width, maximumLength: cache.maximumLength)
        copy.copyPrefix(of: cache, count: tokens.count)
        entries.append(Entry(tokens: tokens, cache: copy, lastUse: clock))
        usedBytes += bytes
    }

    /// Forgets every entry (the tally stays).
    func removeAll() {
        entries.removeAll()
        usedBytes = 0
    }

    var count: Int { entries.count }

    func commonPrefix(_ a: [Int32], _ b: [Int32], limit: Int) -> Int {
        let n = min(a.count, b.count, max(0, limit))
        var i = 0
        while i < n && a[i] == b[i] { i += 1 }
        return i
    }
}
