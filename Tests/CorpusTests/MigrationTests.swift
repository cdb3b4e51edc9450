@testable import Corpus
import Foundation
import Testing

@Suite struct MigrationTests {
    private let first = Schema.Migration(version: 1, summary: "notes", sql: "CREATE TABLE note (run_id TEXT, body TEXT NOT NULL)")
    private let second = Schema.Migration(version: 2, summary: "note authors", sql: "ALTER TABLE note ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'")

    @Test func releasedMigrationsAreNumberedWithoutGaps() {
        #expect(Schema.isContiguous(Schema.migrations))
        #expect(Corpus.schemaVersion == Schema.migrations.count)
    }

    @Test func missingStepsAreAppliedInOrderAndKeepData() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("corpus.sqlite")
        do {
            let corpus = try Corpus.open(path: path, readOnly: false, migrations: [first])
            #expect(try corpus.schemaVersion() == 1)
            try corpus.database.execute("INSERT INTO note (run_id, body) VALUES (?, ?)", ["r", "kept"])
        }
        let migrated = try Corpus.open(path: path, readOnly: false, migrations: [first, second])
        #expect(try migrated.schemaVersion() == 2)
        let rows = try migrated.database.fetchAll("SELECT body, author FROM note") { [try $0.get(0, as: String.self), try $0.get(1, as: String.self)] }
        #expect(rows == [["kept", "unknown"]])
    }

    @Test func aVersion2CorpusGainsTheChoiceColumnsWithItsRowsIntact() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("corpus.sqlite")
        do {
            let old = try Corpus.open(path: path, readOnly: false, migrations: Array(Schema.migrations.prefix(2)))
            try old.database.executeScript("""
                INSERT INTO run VALUES ('r', 'old', '{}', '{}', '0.1.0', '1', 'finished', '2026-01-01T00:00:00.000Z');
                INSERT INTO item VALUES ('r', 'q', 'distributional', 'p', 'f', 1, 0, '{}', 'h');
                INSERT INTO community VALUES ('r', 'c', 'p', 'd', 's', 'f', '{}', 0);
                INSERT INTO synthesis (run_id, item_id, method, text, selected_community, selection_parsed, selection_reply,
                                       answer_option, call_keys_json)
                VALUES ('r', 'q', 'moe', 'A. yes', 'c', 1, '1', 0, '[]');
                INSERT INTO distribution VALUES ('r', 'q', 'moe', '', '[0.75,0.25]', 0.5, 0, 1);
                """)
        }
        let corpus = try Corpus.open(path: path)
        #expect(try corpus.schemaVersion() == Corpus.schemaVersion)
        #expect(try corpus.communities(runID: "r").map(\.label) == [""])
        let synthesis = try #require(try corpus.syntheses(runID: "r").first)
        #expect(synthesis.selectedCommunity == "c" && synthesis.selectionParsed == true)
        #expect(synthesis.selectionMethod == nil && synthesis.selectionJSON == nil && synthesis.passages == nil)
        #expect(synthesis.answerTieJSON == nil)
        #expect(try corpus.distributions(runID: "r").map(\.rotationsJSON) == ["[]"])
    }

    @Test func aVersion3CorpusAcceptsInterruptedRunsWithItsRowsAndReferencesIntact() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("corpus.sqlite")
        let sample = SampleRun()
        do {
            let old = try Corpus.open(path: path, readOnly: false, migrations: Array(Schema.migrations.prefix(3)))
            try sample.write(to: old)
            #expect(throws: DatabaseError.self) { try old.setRunStatus(id: "run-1", status: .interrupted) }
        }
        let corpus = try Corpus.open(path: path)
        #expect(try corpus.schemaVersion() == 4)
        #expect(try corpus.runs() == [sample.run])
        #expect(try corpus.comments(runID: "run-1") == sample.comments)
        try corpus.setRunStatus(id: "run-1", status: .interrupted)
        #expect(try corpus.run(id: "run-1")?.status == .interrupted)
        // The other tables still refer to `run`, and enforce it.
        let itemSQL = try corpus.database.fetchValue("SELECT sql FROM sqlite_schema WHERE name = 'item'", as: String.self) ?? ""
        #expect(itemSQL.contains("REFERENCES run(id)"))
        #expect(try corpus.database.fetchValue("PRAGMA integrity_check", as: String.self) == "ok")
        #expect(try corpus.database.fetchValue("PRAGMA foreign_key_check", as: String.self) == nil)
        #expect(throws: DatabaseError.self) {
            try corpus.database.execute("INSERT INTO item VALUES ('no-such-run', 'q', 'overton', 'p', 'f', 1, 0, '{}', 'h')")
        }
    }

    @Test func aFailingStepLeavesTheFileAtThePreviousVersion() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("corpus.sqlite")
        _ = try Corpus.open(path: path, readOnly: false, migrations: [first])
        let broken = Schema.Migration(version: 2, summary: "half a change", sql: "CREATE TABLE half (a); CREATE TABLE oops (")
        #expect(throws: DatabaseError.self) { try Corpus.open(path: path, readOnly: false, migrations: [first, broken]) }
        let corpus = try Corpus.open(path: path, readOnly: false, migrations: [first])
        #expect(try corpus.schemaVersion() == 1)
        #expect(try corpus.database.fetchValue("SELECT count(*) FROM sqlite_schema WHERE name = 'half'", as: Int.self) == 0)
    }

    @Test func aFileFromANewerToolIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("corpus.sqlite")
        _ = try Corpus.open(path: path, readOnly: false, migrations: [first, second])
        #expect {
            try Corpus.open(path: path, readOnly: false, migrations: [first])
        } throws: { error in
            guard case CorpusError.newerSchema(path, 2, 1) = error else { return false }
            return true
        }
    }

    @Test func readOnlyOpenRefusesAFileThatNeedsMigrating() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("corpus.sqlite")
        _ = try Corpus.open(path: path, readOnly: false, migrations: [first])
        #expect {
            try Corpus.open(path: path, readOnly: true, migrations: [first, second])
        } throws: { error in
            guard case CorpusError.olderSchema(path, 1, 2) = error else { return false }
            return "\(error)".contains("migrate")
        }
    }

    @Test func anEmptyFileBecomesACorpus() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("corpus.sqlite")
        FileManager.default.createFile(atPath: path, contents: Data())
        #expect(try Corpus.open(path: path).schemaVersion() == Corpus.schemaVersion)
    }
}
