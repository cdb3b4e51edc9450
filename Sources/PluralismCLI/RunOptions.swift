import ArgumentParser
import Corpus
import Foundation
import Inference
import Pluralism
import Report

/// Options shared by the commands that run stages (`run`, `ingest`, `comment`, `synthesize`).
struct RunOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The run configuration.", valueName: "file"))
    var config = "inputs/run.json"

    @Option(name: .long, help: ArgumentHelp("The corpus file (default: runs/<config name>/corpus.sqlite).", valueName: "file"))
    var corpus: String?

    @Flag(name: .long, help: "Never call a model: a call missing from the archive is an error.")
    var replayOnly = false

    @OptionGroup var execution: ExecutionOptions

    /// Loads and validates the inputs (before any corpus is touched), opens the corpus and
    /// prepares a stage context whose models load on first use.
    func prepare(shard: Shard? = nil) throws -> (context: StageContext, corpusPath: String) {
        let inputs = try InputLoader.load(configPath: config)
        let path = corpus ?? CorpusLocation.defaultPath(runName: inputs.config.name)
        let corpus = try Corpus.open(path: path)
        let loader = ModelLoader(modelDirectory: execution.modelDir, threads: execution.threads, replayOnly: replayOnly)
        let context = StageContext(
            inputs: inputs, corpus: corpus,
            options: StageOptions(replayOnly: replayOnly, batchSize: execution.batchSize, quiet: execution.quiet, shard: shard),
            models: { try loader.model(for: $0) }, embedder: { try loader.sentenceEmbedder() })
        return (context, path)
    }
}

/// How stages execute: engine threads, where the model is, batch size, progress. Shared by
/// the stage commands (through `RunOptions`) and `bench pipeline`.
struct ExecutionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Threads of the embedded engine (default: all cores). Results do not depend on it.", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Where model files are (default: $PLURALISM_MODEL_DIR, else ~/.cache/pluralism/models).", valueName: "dir"))
    var modelDir: String?

    @Option(name: .long, help: ArgumentHelp("Audited answers written per transaction (model calls are not chunked: each model takes as many at once as it can). Results do not depend on it.", valueName: "n"))
    var batchSize = 8

    @Flag(name: .long, help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }
}

/// Where the engine's models are and how many threads it uses, for the commands that load a
/// model outside a run (`embed`, `bench audit`).
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Threads of the engine (default: all cores). Results do not depend on it.", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Where model files are (default: $PLURALISM_MODEL_DIR, else ~/.cache/pluralism/models).", valueName: "dir"))
    var modelDir: String?

    var store: ModelStore { ModelStore(directory: modelDir) }
    var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }
}

enum CorpusLocation {
    /// Where a run's corpus goes unless `--corpus` says otherwise.
    static func defaultPath(runName: String) -> String { "runs/\(runName)/corpus.sqlite" }

    /// The run a read-only command looks at: the one named, else the most recently created.
    static func run(in corpus: Corpus, id: String?) throws -> RunRecord {
        if let id {
            guard let run = try corpus.run(id: id) else { throw CorpusError.unknownRun(id: id) }
            return run
        }
        guard let latest = try corpus.runs().last else {
            throw ValidationError("the corpus \(corpus.path) holds no run yet")
        }
        return latest
    }
}

/// The exit codes every command documents, and the mapping from errors to them.
enum ExitStatus {
    static let usage: Int32 = 64
    static let invalidInputs: Int32 = 65
    static let modelUnavailable: Int32 = 69
    static let internalError: Int32 = 70
    static let corpusIO: Int32 = 74
    static let cannotWriteOutput: Int32 = 73

    static let helpText = """
    Exit status: 0 done; 64 usage error; 65 invalid inputs (each problem printed as \
    file:line: field: message); 69 model unavailable (missing model file, unset API key, \
    server failure, or a --replay-only call missing from the archive); 70 internal error; \
    73 output (the report site cannot be written); 74 corpus I/O (cannot open, read or \
    write the corpus file).
    """

    static func code(for error: Error) -> Int32 {
        switch error {
        case is InputErrors: invalidInputs
        case is ModelStoreError, is ModelUnavailable, is ModelCallError, is ServedModelChanged, is ArchiveMiss, is GGUFError, is EngineError,
             is SafetensorsError, is WordPieceError:
            modelUnavailable
        case is CorpusError, is DatabaseError, is CorruptArchiveEntry: corpusIO
        case is StageError, is ExportError, is RunSelectionError: usage
        case is TemplateErrors: invalidInputs
        case let site as SiteError:
            switch site {
            case .missingTemplates: invalidInputs
            case .notASite: usage
            case .cannotWrite: cannotWriteOutput
            }
        default: internalError
        }
    }

    /// Prints the error and turns it into the exit code. ArgumentParser's own errors (usage,
    /// help) pass through unchanged.
    static func fail(_ error: Error) -> Error {
        if error is ExitCode || error is ValidationError || error is CleanExit { return error }
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        return ExitCode(code(for: error))
    }
}

/// Writes to stderr (progress and notes never mix with data on stdout).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func formatDuration(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.1f s", seconds) }
    let whole = Int(seconds.rounded())
    return whole < 3600 ? "\(whole / 60)m \(whole % 60)s" : "\(whole / 3600)h \(whole % 3600 / 60)m"
}

func describe(_ report: StageReport) -> String {
    let perMinute = report.seconds > 0 && report.written > 0 ? String(format: ", %.1f/min", Double(report.written) / report.seconds * 60) : ""
    return "\(report.stage): \(report.written) written, \(report.alreadyDone) already stored; "
        + "calls \(report.freshCalls) fresh, \(report.replayedCalls) replayed; \(formatDuration(report.seconds))\(perMinute)"
}
