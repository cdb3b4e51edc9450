import ContentHash

/// One of N parts of a run's items, for running a run on several machines at once: an item
/// belongs to shard `1 + h mod N`, where `h` is the first 8 bytes of the sha256 of its id
/// (big-endian), so the split depends on the ids alone, never on the order of the input
/// files or on the machine. Every shard stores the whole run manifest (items, communities)
/// and does the comments and syntheses of its own items; `pluralism corpus merge` joins them.
public struct Shard: Hashable, Sendable, CustomStringConvertible {
    /// 1-based.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (1...count).contains(index) else { throw ShardError(text: "\(index)/\(count)") }
        self.index = index
        self.count = count
    }

    /// Reads "K/N" (K from 1 to N).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { throw ShardError(text: text) }
        try self.init(index: index, count: count)
    }

    public func contains(itemID: String) -> Bool {
        Self.shard(of: itemID, count: count) == index
    }

    /// The shard (1-based) an item id falls in when the run is split `count` ways.
    public static func shard(of itemID: String, count: Int) -> Int {
        var hash = SHA256()
        hash.update(itemID)
        let digest = hash.finalize()
        let prefix = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(prefix % UInt64(count)) + 1
    }

    public var description: String { "\(index)/\(count)" }
}

/// `--shard` was not K/N with 1 ≤ K ≤ N.
public struct ShardError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "--shard \(text): expected K/N with 1 ≤ K ≤ N, like 2/8" }
}
