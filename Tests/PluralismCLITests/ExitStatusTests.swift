import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The README's exit-status table, command by command, through the built binary.
@Suite(.serialized) struct ExitStatusTests {
    static let commandsWithHelp: [[String]] = [[],
        ["run"], ["ingest"], ["comment"], ["synthesize"], ["audit"], ["export"], ["report"], ["diff"],
        ["corpus", "digest"], ["corpus", "runs"], ["corpus", "bias"], ["generate"], ["embed"], ["models", "fetch"],
    ]

    @Test(arguments: commandsWithHelp)
    func everyCommandsHelpHasTheExitStatusTable(_ command: [String]) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let result = try CLI.run(command + ["--help"], in: scratch.path)
        #expect(result.status == 0)
        for code in ["64", "65", "66", "69", "70", "73", "74", "130", "143"] {
            #expect(result.stdout.contains(code), "`\(command.joined(separator: " ")) --help` lacks exit status \(code)")
        }
    }

    @Test func usageErrorsExit64() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(try CLI.run(["run", "--no-such-flag"], in: scratch.path).status == 64)
        let empty = try CLI.run(["run", "--corpus", ""], in: scratch.path)
        #expect(empty.status == 64)
        #expect(empty.stderr.contains("--corpus is empty"))
        #expect(scratch.listing() == [], "nothing is written for an empty --corpus")
        let threads = try CLI.run(["run", "--threads", "0"], in: scratch.path)
        #expect(threads.status == 64)
        #expect(threads.stderr.contains("--threads must be at least 1"))
        let unknownRun = try CLI.run(["corpus", "digest", try GoldenCorpus.write(in: scratch), "--run", "nope"], in: scratch.path)
        #expect(unknownRun.status == 64)
        #expect(unknownRun.stderr.contains("no run with id nope"))
    }

    /// `--temperature -1` reaches the option's own check, not "missing value".
    @Test func aNegativeNumberAsItsOwnWordIsAValueNotAFlag() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let separate = try CLI.run(["generate", "--prompt", "Hi", "--temperature", "-1"], in: scratch.path)
        let joined = try CLI.run(["generate", "--prompt", "Hi", "--temperature=-1"], in: scratch.path)
        #expect(separate.status == 64)
        #expect(!separate.stderr.lowercased().contains("missing value"))
        #expect(separate.stderr == joined.stderr)
        let seed = try CLI.run(["generate", "--prompt", "Hi", "--seed", "-1"], in: scratch.path)
        #expect(seed.status == 64)
        #expect(!seed.stderr.lowercased().contains("missing value"))
        #expect(seed.stderr.contains("-1"))
    }

    @Test func invalidInputsExit65WithFileLineAndField() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try ScriptedServer(in: scratch)
        let config = try server.writeConfig(into: scratch)
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"name\": \"cli\"", with: "\"name\": \"../../escape\"")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try CLI.run(["run", "--config", config, "--quiet"], in: scratch.path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("inputs/run.json:2: name: invalid run name \"../../escape\""))
        #expect(scratch.listing().filter { name in !["requests-", "port-", "server-"].contains { name.hasPrefix($0) } } == ["inputs"],
                "nothing written")
        #expect(server.requests == 0)
    }

    @Test func aDuplicateCommunityIsReportedAtItsNameLine() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("inputs/questions.jsonl", String(contentsOfFile: CLI.fixtures + "/questions.jsonl", encoding: .utf8))
        try scratch.write("inputs/run.json", """
            {
              "name": "dup",
              "pools": [
                {"name": "people", "communities": [
                  {"name": "north", "description": "d", "system_prompt": "s"},
                  {
                    "description": "d",
                    "system_prompt": "s",
                    "name": "north"
                  }
                ]}
              ],
              "questions": [{"file": "questions.jsonl", "pool": "people"}]
            }
            """)
        let result = try CLI.run(["ingest", "--config", "inputs/run.json", "--corpus", scratch.file("c.sqlite")], in: scratch.path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("inputs/run.json:9: pools[0].communities[1].name: duplicate community name \"north\" (first on line 5)"),
                "\(result.stderr)")
    }

    @Test func profileAndQuestionPathsSayWhatTheyAre() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try ScriptedServer(in: scratch)
        let config = try server.writeConfig(into: scratch)
        try FileManager.default.removeItem(atPath: scratch.file("inputs/questions.jsonl"))
        try FileManager.default.createDirectory(atPath: scratch.file("inputs/questions.jsonl"), withIntermediateDirectories: false)
        var result = try CLI.run(["ingest", "--config", config, "--corpus", scratch.file("c.sqlite")], in: scratch.path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("questions.jsonl is a folder, not a file"))

        try FileManager.default.removeItem(atPath: scratch.file("inputs/questions.jsonl"))
        #expect(mkfifo(scratch.file("inputs/questions.jsonl"), 0o644) == 0)
        result = try CLI.run(["ingest", "--config", config, "--corpus", scratch.file("c.sqlite")], in: scratch.path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("questions.jsonl is a FIFO (named pipe), not a regular file"))

        try FileManager.default.removeItem(atPath: scratch.file("inputs/questions.jsonl"))
        try FileManager.default.createSymbolicLink(atPath: scratch.file("inputs/loop-a"), withDestinationPath: "loop-b")
        try FileManager.default.createSymbolicLink(atPath: scratch.file("inputs/loop-b"), withDestinationPath: "loop-a")
        try FileManager.default.createSymbolicLink(atPath: scratch.file("inputs/questions.jsonl"), withDestinationPath: "loop-a")
        result = try CLI.run(["ingest", "--config", config, "--corpus", scratch.file("c.sqlite")], in: scratch.path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("questions.jsonl is a symbolic link loop"))
    }

    @Test func corpusProblemsHaveTheirOwnCodes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let missing = try CLI.run(["corpus", "digest", scratch.file("none.sqlite")], in: scratch.path)
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("no corpus at \(scratch.file("none.sqlite"))"))
        let folder = try CLI.run(["corpus", "digest", scratch.path], in: scratch.path)
        #expect(folder.status == 66)
        #expect(folder.stderr.contains("it is a folder"))
        try scratch.write("text.sqlite", "not a database, just text that is long enough to have a header of its own\n")
        let text = try CLI.run(["corpus", "digest", scratch.file("text.sqlite")], in: scratch.path)
        #expect(text.status == 65)
        #expect(text.stderr.contains("is not a pluralism corpus"))
        let newer = try GoldenCorpus.write(in: scratch, name: "newer.sqlite", userVersion: 99)
        let newerResult = try CLI.run(["corpus", "runs", newer], in: scratch.path)
        #expect(newerResult.status == 65)
        #expect(newerResult.stderr.contains("newer pluralism"))
        // Writing into a folder that is a file: cannot create output.
        try scratch.write("plain", "x")
        let server = try ScriptedServer(in: scratch)
        let config = try server.writeConfig(into: scratch)
        let notAFolder = try CLI.run(["ingest", "--config", config, "--corpus", scratch.file("plain/c.sqlite")], in: scratch.path)
        #expect(notAFolder.status == 73)
        #expect(notAFolder.stderr.contains("plain"))
        let corpusIsFolder = try CLI.run(["ingest", "--config", config, "--corpus", scratch.path], in: scratch.path)
        #expect(corpusIsFolder.status == 73)
        #expect(corpusIsFolder.stderr.contains("it is a folder, not a file"))
    }

    @Test(.enabled(if: getuid() != 0, "root bypasses file permissions"))
    func anUnwritableFolderIsCannotCreateOutput() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let server = try ScriptedServer(in: scratch)
        let config = try server.writeConfig(into: scratch)
        try FileManager.default.createDirectory(atPath: scratch.file("locked"), withIntermediateDirectories: false)
        chmod(scratch.file("locked"), 0o555)
        let result = try CLI.run(["ingest", "--config", config, "--corpus", scratch.file("locked/c.sqlite")], in: scratch.path)
        #expect(result.status == 73)
        #expect(result.stderr.contains("is not writable"))
    }

    @Test func exportOutputPathsAreCheckedBeforeWriting() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let corpus = try GoldenCorpus.write(in: scratch)
        let folder = try CLI.run(["export", "--corpus", corpus, "--output", scratch.path], in: scratch.path)
        #expect(folder.status == 73)
        #expect(folder.stderr.contains("it is a folder"))
        let missingParent = try CLI.run(["export", "--corpus", corpus, "--output", scratch.file("no/such/out.jsonl")], in: scratch.path)
        #expect(missingParent.status == 73)
        #expect(missingParent.stderr.contains("does not exist"))
        let empty = try CLI.run(["export", "--corpus", corpus, "--output", ""], in: scratch.path)
        #expect(empty.status == 73)
    }

    @Test func replayOnlyWithNoModelFileIsModelUnavailable() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // The default inputs use the embedded model; the model folder is empty.
        let result = try CLI.run(["run", "--config", CLI.repositoryRoot + "/inputs/run.json", "--corpus", scratch.file("c.sqlite"),
                                  "--replay-only", "--no-report", "--quiet"], in: scratch.path)
        #expect(result.status == 69)
        #expect(result.stderr.contains("replay-only: 251 call(s) to embedded"), "\(result.stderr)")
        #expect(!result.stderr.contains("not found at"), "a replay-only run never looks for the model file")
    }
}
