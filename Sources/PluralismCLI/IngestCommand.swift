import ArgumentParser
import Foundation
import Pluralism

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Validate the inputs and store the run manifest, items and communities.",
        discussion: """
        Nothing is written unless every input is valid. Ingesting the same inputs again \
        changes nothing.

        Example:
          pluralism ingest --config inputs/run.json

        \(ExitStatus.helpText)
        """)

    @OptionGroup var options: RunOptions

    func run() async throws {
        do {
            let (context, path, _) = try options.prepare()
            let run = try Stages.ingest(context.inputs, into: context.corpus)
            print("run \(run.id) (\(run.name)): \(context.inputs.items.count) items, \(context.config.communities.count) communities in \(path)")
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}
