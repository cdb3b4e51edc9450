import Foundation

/// How an import is shaped: which items are kept and what they are called.
public struct ImportOptions: Sendable {
    /// Keep at most this many items, chosen by `seed` (nil: all).
    public var limit: Int?
    /// Chooses the sample under `limit`: the same seed keeps the same items every time.
    public var seed: UInt64
    /// Starts every id (the dataset's name when nil).
    public var idPrefix: String?

    public init(limit: Int? = nil, seed: UInt64 = 0, idPrefix: String? = nil) {
        self.limit = limit
        self.seed = seed
        self.idPrefix = idPrefix
    }

    /// An id prefix must itself be an id, short enough to leave room for the source's keys.
    public static func isValidPrefix(_ prefix: String) -> Bool {
        Identifier.isValid(prefix) && prefix.utf8.count <= 64
    }
}

/// A dataset reader: turns the files as the dataset distributes them into items, telling the
/// session about every row it reads and every item it cannot build.
public protocol DatasetImporter {
    /// The dataset's name: the default id prefix and the name the summary uses.
    var name: String { get }
    func read(_ paths: [String], into session: ImportSession) throws
}

/// One import in progress: it checks each item the importer builds against the rules of a
/// question file (so a written file always loads), drops duplicates, samples under
/// `--limit`, writes the survivors, and counts everything for the summary.
///
/// Structural problems (malformed CSV, a missing column, an unreadable Python literal, a
/// distribution that does not fit its options) are collected as errors: the import fails
/// and writes nothing. Items that are well-formed but cannot be a valid item (a tie for the
/// gold answer, two identical options) are skipped with a reason.
public final class ImportSession {
    /// Errors beyond this many are counted but not kept.
    static let maximumErrors = 100

    public let options: ImportOptions
    public let prefix: String
    public private(set) var summary = ImportSummary()
    private var errors: [InputError] = []
    private var errorCount = 0
    /// Hash of each id seen → where it was built (file index << 40 | line), so a duplicate
    /// names its first place. Two 64-bit words an item, however long ids and paths are: the
    /// only memory an import holds that grows with the file.
    private var idPlaces: [UInt64: UInt64] = [:]
    private var sourceFiles: [String] = []
    private var sourceFileIndices: [String: UInt64] = [:]
    private var sample: ItemSample?
    private let emit: (Item) throws -> Void
    private var populationLabels: [String: String?] = [:]

    /// `emit` receives each kept item in input order (under `--limit`, all at `finish`).
    init(options: ImportOptions, defaultPrefix: String, emit: @escaping (Item) throws -> Void) {
        self.options = options
        prefix = options.idPrefix ?? defaultPrefix
        self.emit = emit
        if let limit = options.limit { sample = ItemSample(limit: limit, seed: options.seed) }
    }

    /// Counts one source row read.
    public func readRow() { summary.rowsRead += 1 }

    public func readFile(_ path: String) { summary.files.append(path) }

    /// Records a problem that makes the import fail (reading goes on, to report them all).
    public func fail(_ error: InputError) {
        errorCount += 1
        if errors.count < ImportSession.maximumErrors { errors.append(error) }
    }

    public var hasFailed: Bool { errorCount > 0 }

    /// Records something left out, grouped by `reason` in the summary.
    public func skip(_ reason: String, at place: String) {
        summary.recordSkip(reason, at: place)
    }

    /// The id `prefix-part-part…`: each part reduced to the characters ids allow. An id
    /// longer than ids may be keeps its start and ends in a hash of the whole, so it stays
    /// unique and stable.
    public func identifier(_ parts: String...) -> String {
        ImportText.identifier([prefix] + parts)
    }

    /// Declares the label of a population items name (written into the config snippet).
    public func population(_ name: String, label: String?) {
        if populationLabels[name] == nil { populationLabels[name] = .some(label) }
    }

    /// Offers one item built from the source at `place` ("file:line", with any detail); the
    /// item's `sourceFile` and `line` say where it came from for a later duplicate.
    public func add(_ item: Item, at place: String) throws {
        if let reason = ImportSession.invalidity(of: item) {
            skip(reason, at: place)
            return
        }
        let key = ImportText.hash64(item.id)
        if let first = idPlaces[key] {
            let firstPlace = "\(sourceFiles[Int(first >> 40)]):\(first & 0xFF_FFFF_FFFF)"
            skip("duplicate id (the same source key twice)", at: "\(place) (first at \(firstPlace))")
            return
        }
        idPlaces[key] = sourceFileIndex(item.sourceFile) << 40 | UInt64(max(item.line, 0))
        summary.candidates += 1
        if sample == nil {
            try keep(item)
        } else {
            sample?.offer(item)
        }
    }

    private func sourceFileIndex(_ path: String) -> UInt64 {
        if let index = sourceFileIndices[path] { return index }
        let index = UInt64(sourceFiles.count)
        sourceFiles.append(path)
        sourceFileIndices[path] = index
        return index
    }

    private func keep(_ item: Item) throws {
        summary.recordImport(item)
        if let population = item.population, summary.populations[population] == nil {
            summary.populations.updateValue(populationLabels[population] ?? nil, forKey: population)
        }
        try emit(item)
    }

    /// Writes the sample (under `--limit`) and throws every collected error, if any.
    func finish() throws {
        if hasFailed {
            var shown = errors
            if errorCount > errors.count {
                shown.append(InputError(file: summary.files.last ?? "", line: 0, field: "",
                                        message: "… and \(errorCount - errors.count) more problems"))
            }
            throw InputErrors(errors: shown)
        }
        if let sample {
            for item in sample.items { try keep(item) }
        }
    }

    /// Why an item would be refused by the question-file reader, if it would: importers
    /// skip such items instead of writing a file that does not load.
    static func invalidity(of item: Item) -> String? {
        if !Identifier.isValid(item.id) { return "id not usable (\(Identifier.rule))" }
        if item.text.isEmpty { return "empty \(item.mode == .overton ? "situation" : "question")" }
        if let attribute = item.attribute, attribute.isEmpty { return "empty attribute" }
        if item.values.contains(where: { $0.value.isEmpty || $0.explanation.isEmpty }) { return "empty value or explanation" }
        if item.mode == .distributional || !item.options.isEmpty {
            if item.options.count < 2 { return "fewer than 2 options" }
            if item.options.count > ItemReader.maximumOptions { return "more than \(ItemReader.maximumOptions) options" }
            if item.options.contains(where: \.isEmpty) { return "an empty option" }
            if Set(item.options).count != item.options.count { return "two options with the same text" }
        }
        if let distribution = item.goldDistribution {
            if distribution.count != item.options.count || distribution.contains(where: { !$0.isFinite || $0 < 0 })
                || abs(distribution.reduce(0, +) - 1) > ItemReader.sumTolerance {
                return "gold distribution not a distribution over the options"
            }
        }
        return nil
    }
}

/// The items with the `limit` lowest seeded ranks, a rank being a hash of the seed and the
/// item's id: the sample depends on which items there are, not on the order the file lists
/// them in or on how many there are, and the same seed always keeps the same items.
struct ItemSample {
    let limit: Int
    let seed: UInt64
    /// A max-heap on (rank, id): the root is the first to go when a lower rank arrives.
    private var heap: [(rank: UInt64, ordinal: Int, item: Item)] = []
    private var offered = 0

    init(limit: Int, seed: UInt64) {
        self.limit = limit
        self.seed = seed
    }

    func rank(_ id: String) -> UInt64 { splitMix64(seed ^ ImportText.hash64(id)) }

    mutating func offer(_ item: Item) {
        defer { offered += 1 }
        let entry = (rank: rank(item.id), ordinal: offered, item: item)
        if heap.count < limit {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else if let root = heap.first, limit > 0, Self.precedes(entry, root) {
            heap[0] = entry
            siftDown(0)
        }
    }

    /// The kept items in the order they were offered.
    var items: [Item] { heap.sorted { $0.ordinal < $1.ordinal }.map(\.item) }

    private static func precedes(_ a: (rank: UInt64, ordinal: Int, item: Item), _ b: (rank: UInt64, ordinal: Int, item: Item)) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.item.id < b.item.id
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[parent], heap[child]) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            var largest = parent
            for child in [2 * parent + 1, 2 * parent + 2] where child < heap.count && Self.precedes(heap[largest], heap[child]) {
                largest = child
            }
            guard largest != parent else { return }
            heap.swapAt(parent, largest)
            parent = largest
        }
    }
}
