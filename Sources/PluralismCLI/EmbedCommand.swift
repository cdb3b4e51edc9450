import ArgumentParser
import Foundation
import Inference
import Pluralism

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with the sentence encoder (all-MiniLM-L6-v2) and compare them.",
        discussion: """
        Each text goes through all-MiniLM-L6-v2 in-process: WordPiece tokens, the 6-layer BERT \
        encoder, the mean over all tokens, scaled to unit length. By default the cosine \
        similarity of every pair is printed as a matrix, to see by hand where a similarity \
        threshold falls; with --json, the vectors themselves. Texts longer than 256 tokens \
        are cut, and a note on stderr says which. With no TEXT, one text per line is read \
        from stdin.

        Needs the model files: `pluralism models fetch`.

        Examples:
          pluralism embed "The weather is lovely today." "It's so sunny outside!" \\
              "He drove to the stadium."
          pluralism embed --json "Family should come first."
          cut -f2 comments.tsv | pluralism embed --threads 1

        \(ExitStatus.helpText)
        """)

    @Argument(help: ArgumentHelp("The texts to embed (default: one per line from stdin).", valueName: "text"))
    var texts: [String] = []

    @Flag(name: .long, help: "Print one JSON object with every vector instead of the cosine matrix.")
    var json = false

    @OptionGroup var engine: EngineOptions

    func run() async throws {
        do {
            if texts.isEmpty && isatty(STDIN_FILENO) != 0 {
                throw ValidationError("no text to embed: give TEXT arguments, or pipe one text per line into stdin")
            }
            let input = texts.isEmpty ? Self.stdinLines() : texts
            guard !input.isEmpty else { throw ValidationError("no text to embed: give TEXT arguments or lines on stdin") }
            let encoder = try SentenceEncoder.load(store: engine.store, threads: engine.threadCount)
            let embeddings = encoder.embed(input)
            for (i, embedding) in embeddings.enumerated() where embedding.truncated {
                note("text \(i + 1) was cut to its first \(embedding.tokenCount) tokens")
            }
            print(json ? Self.json(input, embeddings, encoder: encoder) : Self.matrix(input, embeddings))
        } catch {
            throw ExitStatus.fail(error)
        }
    }

    /// The non-blank lines of stdin.
    static func stdinLines() -> [String] {
        var lines: [String] = []
        while let line = readLine() {
            if !line.trimmingCharacters(in: .whitespaces).isEmpty { lines.append(line) }
        }
        return lines
    }

    /// The cosine matrix, rows and columns numbered, then the numbered texts.
    static func matrix(_ texts: [String], _ embeddings: [SentenceEmbedding]) -> String {
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let labels = texts.indices.map { "[\($0 + 1)]" }
        let width = max(7, (labels.last?.count ?? 0) + 1)
        func padded(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        var lines = [padded("") + labels.map(padded).joined()]
        for (i, a) in embeddings.enumerated() {
            lines.append(padded(labels[i]) + embeddings.map { padded(String(format: "%.4f", cosine(a.vector, $0.vector))) }.joined())
        }
        lines.append("")
        for (i, text) in texts.enumerated() { lines.append("\(labels[i]) \(text)") }
        return lines.joined(separator: "\n")
    }

    /// {"model", "dimension", "embeddings": [{"text", "tokens", "truncated", "vector"}]}.
    static func json(_ texts: [String], _ embeddings: [SentenceEmbedding], encoder: SentenceEncoder) -> String {
        let items = zip(texts, embeddings).map { text, e in
            "{\"text\":\(JSON.quoted(text)),\"tokens\":\(e.tokenCount),\"truncated\":\(e.truncated),"
                + "\"vector\":[\(e.vector.map { "\($0)" }.joined(separator: ","))]}"
        }
        return "{\"model\":\(JSON.quoted(encoder.fingerprint)),\"dimension\":\(encoder.dimension),"
            + "\"embeddings\":[\(items.joined(separator: ","))]}"
    }
}
