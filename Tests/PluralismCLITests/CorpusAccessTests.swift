import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Reading corpora: read-only commands leave nothing beside the file, pinned digest and
/// export of a fixed corpus, and an export that replaces its target only when complete.
@Suite(.serialized) struct CorpusAccessTests {
    /// The digest and first export line of `GoldenCorpus`. They change only when the corpus
    /// format or the export record changes; update them deliberately (and the docs with them).
    static let goldenDigest = "GOLDEN_DIGEST"
    static let goldenExportLine = #"GOLDEN_EXPORT"#

    @Test func theFixedCorpusHasItsPinnedDigestAndExport() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let corpus = try GoldenCorpus.write(in: scratch)
        let digest = try CLI.run(["corpus", "digest", corpus], in: scratch.path)
        #expect(digest.status == 0, "\(digest.stderr)")
        #expect(digest.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Self.goldenDigest)
        let export = try CLI.run(["export", "--corpus", corpus], in: scratch.path)
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.split(separator: "\n").first.map(String.init) == Self.goldenExportLine)
    }

    @Test func readOnlyCommandsCreateNothingBesideTheCorpus() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("shelf"), withIntermediateDirectories: false)
        let corpus = try GoldenCorpus.write(in: scratch, name: "shelf/golden.sqlite")
        let before = scratch.listing("shelf")
        #expect(!before.contains("golden.sqlite-wal"), "the writer closed cleanly")
        for command in [["corpus", "digest", corpus], ["corpus", "runs", corpus], ["corpus", "bias", corpus],
                        ["export", "--corpus", corpus], ["report", "--corpus", corpus, "--out", scratch.file("site"),
                                                         "--templates", CLI.repositoryRoot + "/templates"]] {
            let result = try CLI.run(command, in: scratch.path)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(scratch.listing("shelf") == before, "\(command) left files beside the corpus")
        }
    }

    @Test(.enabled(if: getuid() != 0, "root bypasses file permissions"))
    func aCorpusInAReadOnlyFolderIsReadable() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("media"), withIntermediateDirectories: false)
        let corpus = try GoldenCorpus.write(in: scratch, name: "media/golden.sqlite")
        chmod(scratch.file("media"), 0o555)
        let digest = try CLI.run(["corpus", "digest", corpus], in: scratch.path)
        #expect(digest.status == 0, "\(digest.stderr)")
        #expect(digest.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Self.goldenDigest)
        #expect(try CLI.run(["export", "--corpus", corpus], in: scratch.path).status == 0)
        chmod(corpus, 0o000)
        let unreadable = try CLI.run(["corpus", "digest", corpus], in: scratch.path)
        #expect(unreadable.status == 66)
        #expect(unreadable.stderr.contains("permission denied"))
    }

    @Test func exportWritesAPartialFileAndRenamesIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let corpus = try GoldenCorpus.write(in: scratch)
        try scratch.write("out.jsonl", "an earlier export\n")
        let failed = try CLI.run(["export", "--corpus", scratch.file("missing.sqlite"), "--output", "out.jsonl"], in: scratch.path)
        #expect(failed.status == 66)
        #expect(try String(contentsOfFile: scratch.file("out.jsonl"), encoding: .utf8) == "an earlier export\n")

        let done = try CLI.run(["export", "--corpus", corpus, "--output", "out.jsonl"], in: scratch.path)
        #expect(done.status == 0, "\(done.stderr)")
        let written = try String(contentsOfFile: scratch.file("out.jsonl"), encoding: .utf8)
        #expect(written.split(separator: "\n").first.map(String.init) == Self.goldenExportLine)
        #expect(!scratch.listing().contains { $0.hasSuffix(".partial") })
        #expect(done.stderr.contains("wrote 1 items"))
    }
}
