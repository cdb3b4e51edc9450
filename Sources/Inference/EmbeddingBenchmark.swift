// Sentence encoder throughput: a fixed batch of synthetic sentences at several thread counts.
import Foundation

/// What `pluralism bench audit` measures. Figures only; nothing is asserted.
public struct EmbeddingBenchmark: Sendable, Codable {
    public struct Run: Sendable, Codable {
        public var threads: Int
        public var seconds: Double
        /// Processor time of the whole process (all threads) during the run: on a machine
        /// shared with other work, wall time alone says little about the threads' own speed.
        public var cpuSeconds: Double
        public var sentencesPerSecond: Double
        public var tokensPerSecond: Double
    }

    public var sentences: Int
    /// Mean tokens per sentence, [CLS] and [SEP] included.
    public var meanTokens: Double
    public var runs: [Run]
    /// Whether every thread count gave bit-identical embeddings (it must).
    public var identicalAcrossThreadCounts: Bool

    /// `count` sentences of 10 to 40 words drawn from a fixed list by a seeded generator: the
    /// same batch on every machine, of the length the audit compares.
    public static func sentences(count: Int, seed: UInt64 = 42) -> [String] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            let length = 10 + Int(random.next() % 31)
            var words = (0..<length).map { _ in wordList[Int(random.next() % UInt64(wordList.count))] }
            words[0] = words[0].prefix(1).uppercased() + words[0].dropFirst()
            return words.joined(separator: " ") + "."
        }
    }

    /// Embeds the batch once per thread count (after one warm-up sentence each) and times it.
    public static func run(modelPath: String, vocabularyPath: String, threadCounts: [Int], count: Int = 1000,
                           progress: (String) -> Void = { _ in }) throws -> EmbeddingBenchmark {
        let texts = sentences(count: count)
        var runs: [Run] = []
        var first: [[Float]]?
        var identical = true
        var tokens = 0
        for threads in threadCounts {
            let encoder = try SentenceEncoder(modelPath: modelPath, vocabularyPath: vocabularyPath, threads: threads)
            _ = encoder.embed(["A short warm-up sentence."])
            progress("embedding \(count) sentences on \(threads) thread(s)")
            let start = Date(), startCPU = processorSeconds()
            let embeddings = encoder.embed(texts)
            let seconds = Date().timeIntervalSince(start), cpuSeconds = processorSeconds() - startCPU
            tokens = embeddings.reduce(0) { $0 + $1.tokenCount }
            let vectors = embeddings.map(\.vector)
            if let first, first != vectors { identical = false }
            if first == nil { first = vectors }
            runs.append(Run(threads: threads, seconds: seconds, cpuSeconds: cpuSeconds, sentencesPerSecond: Double(count) / seconds,
                            tokensPerSecond: Double(tokens) / seconds))
        }
        return EmbeddingBenchmark(sentences: count, meanTokens: Double(tokens) / Double(max(1, count)), runs: runs,
                                  identicalAcrossThreadCounts: identical)
    }

    /// User plus system time of this process so far.
    static func processorSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static let wordList = [
        "people", "should", "the", "community", "always", "never", "values", "freedom", "tradition", "family",
        "government", "market", "city", "village", "water", "school", "children", "work", "health", "care",
        "and", "or", "but", "because", "although", "when", "if", "while", "with", "without",
        "fair", "unfair", "important", "difficult", "honest", "public", "private", "local", "global", "shared",
        "decide", "protect", "share", "choose", "believe", "respect", "change", "keep", "build", "help",
        "of", "to", "in", "for", "on", "by", "from", "about", "over", "under",
        "religion", "science", "history", "culture", "language", "music", "food", "land", "money", "time",
        "a", "an", "their", "our", "every", "some", "many", "few", "most", "all",
        "is", "are", "was", "be", "can", "must", "may", "will", "would", "could",
        "justice", "equality", "safety", "privacy", "dignity", "duty", "rights", "law", "custom", "neighbour",
        "quickly", "slowly", "together", "alone", "often", "rarely", "today", "tomorrow", "here", "everywhere",
        "elders", "students", "workers", "farmers", "doctors", "parents", "leaders", "strangers", "friends", "citizens",
    ]
}
