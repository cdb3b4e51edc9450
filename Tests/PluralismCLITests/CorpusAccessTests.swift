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
    static let goldenDigest = "9cb6624650e97446be7c3f6ae317f25631f277c6260a0dd1fb1f1e1c177a7793"
    static let goldenExportLine =
        #"{"comments":[{"call":"8700f42bfe2cf57f25909e2235d32ec554a7ecff5a83f0e2252d39c7295c92d0","community":"north","sample_index":0,"text":"Give it back: it is theirs."},{"call":"bf9cd280765ef7293bae1036bd52c702002ad4461311eb4695377c8f1b5bb38b","community":"south","sample_index":0,"text":"Hand it to the police."}],"item":{"id":"o1","mode":"overton","text":"Returning a lost wallet."},"pool":"people","run":"golden-run","source":{"file":"questions.jsonl","line":1},"syntheses":{"overton":{"calls":["395ee7d14625c4c1c46c7c9bc6a0b6a7de0c73193023d2009c30b3461bb4a425"],"text":"Return it, yourself or through the police."}}}"#

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
