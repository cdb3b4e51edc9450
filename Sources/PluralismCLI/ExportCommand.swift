import ArgumentParser
import Corpus
import Foundation
import Pluralism

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run as JSON Lines: one record per item with its comments, syntheses and distributions.",
        discussion: """
        Each line is one item: its content, every community's comment, each method's \
        synthesis (text, selected community and whether the selection parsed, answer option, \
        archive keys of its calls), the option distributions (per community and mixed, with \
        covered mass and fallback flag) and audit scores once they exist.

        Examples:
          pluralism export --corpus runs/default/corpus.sqlite > default.jsonl
          pluralism export --run 3fa2c1d09b7e4a11 --output default.jsonl

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("The corpus file (default: runs/<config name>/corpus.sqlite).", valueName: "file"))
    var corpus: String?

    @Option(name: .long, help: ArgumentHelp("Names the default corpus when --corpus is not given.", valueName: "file"))
    var config = "inputs/run.json"

    @Option(name: .long, help: ArgumentHelp("The run to export (default: the most recently created).", valueName: "id"))
    var run: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Where to write; - is stdout.", valueName: "file"))
    var output = "-"

    func run() async throws {
        do {
            if output != "-" { try OutputPath.checkFile(output, option: "--output") }
            let path = try corpus ?? CorpusLocation.defaultPath(runName: InputLoader.load(configPath: config).config.name)
            let corpus = try Corpus.open(path: path, readOnly: true)
            let run = try CorpusLocation.run(in: corpus, id: run)
            if output == "-" {
                try Export.jsonl(corpus: corpus, runID: run.id) { FileHandle.standardOutput.write(Data($0.utf8)) }
                return
            }
            // Written next to the target and renamed into place: a failed export never
            // leaves a truncated file where a good one was.
            let partial = output + ".partial"
            guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
                throw OutputPathError(option: "--output", path: output, reason: "cannot create \(partial)")
            }
            let count: Int
            do {
                count = try Export.jsonl(corpus: corpus, runID: run.id) { try handle.write(contentsOf: Data($0.utf8)) }
                try handle.synchronize()
                try handle.close()
            } catch let error as CocoaError {
                try? FileManager.default.removeItem(atPath: partial)
                throw ExportFileError(path: partial, reason: error.localizedDescription)
            } catch {
                try? FileManager.default.removeItem(atPath: partial)
                throw error
            }
            guard rename(partial, output) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: partial)
                throw ExportFileError(path: output, reason: "cannot rename \(partial) into place: \(reason)")
            }
            note("wrote \(count) items of run \(run.id) to \(output)")
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}

/// Writing the export failed midway (a full disk): exit 74; the partial file is removed
/// and an earlier file at the target is left as it was.
struct ExportFileError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "cannot write \(path): \(reason) (nothing was replaced)" }
}
