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

    func validate() throws {
        if config.isEmpty { throw ValidationError("--config is empty (an unset variable in `--config \"$VAR\"`?)") }
        if corpus?.isEmpty == true { throw ValidationError("--corpus is empty (an unset variable in `--corpus \"$VAR\"`?)") }
    }

    /// Loads and validates the inputs (before any corpus is touched), opens the corpus and
    /// prepares a stage context whose models load on first use.
    func prepare(shard: Shard? = nil) throws -> (context: StageContext, corpusPath: String, loader: ModelLoader) {
        let stop = Interruption.install()
        let inputs = try InputLoader.load(configPath: config)
        let path = corpus ?? CorpusLocation.defaultPath(runName: inputs.config.name)
        let corpus = try Corpus.open(path: path, waiting: note)
        let loader = ModelLoader(modelDirectory: execution.modelDir, threads: execution.threads, replayOnly: replayOnly)
        let context = StageContext(
            inputs: inputs, corpus: corpus,
            options: StageOptions(replayOnly: replayOnly, batchSize: execution.batchSize, quiet: execution.quiet,
                                  shard: shard, stop: stop),
            models: { try loader.model(for: $0) }, embedder: { try loader.sentenceEmbedder() })
        return (context, path, loader)
    }
}

/// One line per embedded engine the stages used: its prompts, and the share of their tokens
/// copied from stored prefixes instead of computed.
func describePrefixReuse(_ loader: ModelLoader) -> [String] {
    loader.prefixReuse.filter { $0.tally.prompts > 0 }.map { model, tally in
        let rate = String(format: "%.0f%%", 100 * tally.tokenHitRate)
        return "embedded engine (\(model)): \(tally.prompts) prompts of \(tally.promptTokens) tokens; "
            + "\(tally.hits) started from a stored prefix, \(rate) of the prompt tokens copied instead of computed"
    }
}

/// How stages execute: engine threads, where the model is, batch size, progress. Shared by
/// the stage commands (through `RunOptions`) and `bench pipeline`.
struct ExecutionOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Threads of the embedded engine (default: all cores). Results do not depend on it.", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Where model files are (default: $PLURALISM_MODEL_DIR, else ~/.cache/pluralism/models).", valueName: "dir"))
    var modelDir: String?

    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Audited answers written per transaction (model calls are not chunked: each model takes as many at once as it can). Results do not depend on it.", valueName: "n"))
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
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Threads of the engine (default: all cores). Results do not depend on it.", valueName: "n"))
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

/// The exit codes every command documents (sysexits.h), and the mapping from errors to
/// them: a script or CI job reads the code to tell its own mistake from a broken file, a
/// missing model or a full disk.
enum ExitStatus {
    static let usage: Int32 = 64
    static let invalidData: Int32 = 65
    static let noInput: Int32 = 66
    static let modelUnavailable: Int32 = 69
    static let internalError: Int32 = 70
    static let cannotCreateOutput: Int32 = 73
    static let ioError: Int32 = 74

    static let helpText = """
    Exit status: 0 done; 64 usage (unknown flag, bad value, empty path); 65 invalid data \
    (inputs, each problem printed as file:line: field: message; templates; a file that is \
    not a corpus or has a newer schema; a damaged row); 66 no input (the corpus file is \
    missing or unreadable); 69 model unavailable (missing model file, unset API key, \
    server failure, a --replay-only call missing from the archive); 70 internal error (a \
    bug); 73 cannot create output (a corpus, export file or report folder that cannot be \
    written there); 74 I/O error (a read or write failed, a full disk); 130 / 143 stopped \
    by Ctrl-C / SIGTERM after storing the finished work (run the same command to resume).
    """

    static func code(for error: Error) -> Int32 {
        switch error {
        case let stopped as RunStopped: stopped.reason.exitStatus
        case let export as ExportError:
            if case .unknownRun = export { usage } else { invalidData }
        case is InputErrors, is TemplateErrors, is CorruptArchiveEntry: invalidData
        case is ExportFileError: ioError
        case is ModelStoreError, is ModelUnavailable, is ModelCallError, is ServedModelChanged, is ArchiveMiss, is GGUFError, is EngineError,
             is SafetensorsError, is WordPieceError:
            modelUnavailable
        case let corpus as CorpusError:
            switch corpus {
            case .cannotCreate(let path, _): path.isEmpty ? usage : cannotCreateOutput
            case .missing, .unreadable: noInput
            case .notACorpus, .newerSchema, .olderSchema, .invalidValue, .invalidRecord: invalidData
            case .unknownRun: usage
            case .cannotOpen: ioError
            }
        case let database as DatabaseError: database.isCorrupt ? invalidData : ioError
        case is OutputPathError, is ImportOutputError: cannotCreateOutput
        case let merge as CorpusMergeError:
            if case .outputExists = merge { cannotCreateOutput } else { invalidData }
        case is StageError, is RunSelectionError: usage
        case let site as SiteError:
            switch site {
            case .missingTemplates: invalidData
            case .notASite, .cannotWrite: cannotCreateOutput
            }
        default: internalError
        }
    }

    /// Prints the error and turns it into the exit code. ArgumentParser's own errors (usage,
    /// help) pass through unchanged.
    static func fail(_ error: Error) -> Error {
        if error is ExitCode || error is ValidationError || error is CleanExit { return error }
        if let stopped = error as? RunStopped {
            note("interrupted: \(stopped); resume with: \(Interruption.commandLine)")
            return ExitCode(stopped.reason.exitStatus)
        }
        let code = code(for: error)
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        if code == internalError {
            note("(exit 70: this is a bug in pluralism; please report it with the command you ran)")
        }
        return ExitCode(code)
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
