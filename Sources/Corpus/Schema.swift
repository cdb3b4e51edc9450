/// The corpus schema, as an ordered list of migrations.
///
/// `PRAGMA user_version` holds the number of migrations applied. Opening a corpus applies
/// the missing ones in order, each in its own transaction, so a file is always at one
/// well-defined version. A released migration is never edited: a change to the schema is
/// a new step appended to `migrations` (and a new section in docs/corpus-schema.md).
enum Schema {
    struct Migration {
        let version: Int
        let summary: String
        let sql: String
    }

    /// `PRAGMA application_id` of every corpus ("PLUR"): tells a corpus apart from some
    /// other SQLite file, which the tool must not migrate.
    static let applicationID: Int32 = 0x504C_5552

    static var currentVersion: Int { migrations.last!.version }

    /// Whether `migrations` is numbered 1, 2, 3… with no gap (checked by the tests).
    static func isContiguous(_ migrations: [Migration]) -> Bool {
        migrations.enumerated().allSatisfy { $0.offset + 1 == $0.element.version }
    }

    static let migrations: [Migration] = [
        Migration(version: 1, summary: "runs, items, communities, call archive, comments, syntheses, distributions, audits", sql: """
            CREATE TABLE run (
                id                TEXT NOT NULL PRIMARY KEY,
                name              TEXT NOT NULL,
                config_json       TEXT NOT NULL,
                input_hashes_json TEXT NOT NULL,
                tool_version      TEXT NOT NULL,
                seed              TEXT NOT NULL,
                status            TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
                created_at        TEXT NOT NULL
            );

            CREATE TABLE item (
                run_id       TEXT NOT NULL REFERENCES run(id),
                id           TEXT NOT NULL,
                mode         TEXT NOT NULL,
                pool         TEXT NOT NULL,
                source_file  TEXT NOT NULL,
                line         INTEGER NOT NULL,
                ordinal      INTEGER NOT NULL,
                content_json TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                PRIMARY KEY (run_id, id)
            );
            CREATE INDEX item_by_ordinal ON item(run_id, ordinal);

            CREATE TABLE community (
                run_id        TEXT NOT NULL REFERENCES run(id),
                name          TEXT NOT NULL,
                pool          TEXT NOT NULL,
                description   TEXT NOT NULL,
                system_prompt TEXT NOT NULL,
                profile       TEXT NOT NULL,
                model_json    TEXT NOT NULL,
                ordinal       INTEGER NOT NULL,
                PRIMARY KEY (run_id, name)
            );

            CREATE TABLE call (
                key           TEXT NOT NULL PRIMARY KEY,
                backend       TEXT NOT NULL,
                base_url      TEXT NOT NULL,
                model         TEXT NOT NULL,
                request_json  TEXT NOT NULL,
                response_json TEXT NOT NULL,
                created_at    TEXT NOT NULL,
                duration_ms   INTEGER NOT NULL
            );

            CREATE TABLE comment (
                run_id       TEXT NOT NULL,
                item_id      TEXT NOT NULL,
                community    TEXT NOT NULL,
                sample_index INTEGER NOT NULL,
                text         TEXT NOT NULL,
                call_key     TEXT NOT NULL REFERENCES call(key),
                PRIMARY KEY (run_id, item_id, community, sample_index),
                FOREIGN KEY (run_id, item_id) REFERENCES item(run_id, id),
                FOREIGN KEY (run_id, community) REFERENCES community(run_id, name)
            );
            CREATE INDEX comment_by_call ON comment(call_key);
            CREATE INDEX comment_by_community ON comment(run_id, community);

            CREATE TABLE synthesis (
                run_id             TEXT NOT NULL,
                item_id            TEXT NOT NULL,
                method             TEXT NOT NULL,
                text               TEXT NOT NULL,
                selected_community TEXT,
                selection_parsed   INTEGER CHECK (selection_parsed IN (0, 1)),
                selection_reply    TEXT,
                answer_option      INTEGER,
                call_keys_json     TEXT NOT NULL,
                PRIMARY KEY (run_id, item_id, method),
                FOREIGN KEY (run_id, item_id) REFERENCES item(run_id, id),
                FOREIGN KEY (run_id, selected_community) REFERENCES community(run_id, name)
            );
            CREATE INDEX synthesis_by_selected_community ON synthesis(run_id, selected_community);

            CREATE TABLE distribution (
                run_id             TEXT NOT NULL,
                item_id            TEXT NOT NULL,
                method             TEXT NOT NULL,
                community          TEXT NOT NULL,
                probabilities_json TEXT NOT NULL,
                covered_mass       REAL NOT NULL,
                fallback           INTEGER NOT NULL CHECK (fallback IN (0, 1)),
                weight             REAL NOT NULL,
                PRIMARY KEY (run_id, item_id, method, community),
                FOREIGN KEY (run_id, item_id, method) REFERENCES synthesis(run_id, item_id, method)
            );

            CREATE TABLE audit (
                run_id        TEXT NOT NULL,
                item_id       TEXT NOT NULL,
                method        TEXT NOT NULL,
                metric        TEXT NOT NULL,
                community     TEXT NOT NULL,
                score         REAL,
                evidence_json TEXT NOT NULL,
                PRIMARY KEY (run_id, item_id, method, metric, community),
                FOREIGN KEY (run_id, item_id) REFERENCES item(run_id, id)
            );
            """),
        Migration(version: 2, summary: "audit scorer identity and per-run audit summaries", sql: """
            CREATE TABLE audit_scorer (
                run_id          TEXT NOT NULL PRIMARY KEY REFERENCES run(id),
                scorer          TEXT NOT NULL,
                model           TEXT NOT NULL,
                thresholds_json TEXT NOT NULL,
                metric_version  TEXT NOT NULL,
                created_at      TEXT NOT NULL
            );

            CREATE TABLE audit_summary (
                run_id        TEXT NOT NULL REFERENCES run(id),
                method        TEXT NOT NULL,
                metric        TEXT NOT NULL,
                subject       TEXT NOT NULL,
                value         REAL,
                count         INTEGER NOT NULL,
                baseline      REAL,
                evidence_json TEXT NOT NULL,
                PRIMARY KEY (run_id, method, metric, subject)
            );
            """),
        Migration(version: 3, summary: "how choices were read and ordered: selection distributions, rotations, passage order, tie draws, display labels", sql: """
            ALTER TABLE community ADD COLUMN label TEXT NOT NULL DEFAULT '';

            ALTER TABLE synthesis ADD COLUMN selection_method TEXT
                CHECK (selection_method IN ('logprobs', 'parsed', 'fallback'));
            ALTER TABLE synthesis ADD COLUMN selection_json TEXT;
            ALTER TABLE synthesis ADD COLUMN passages_json TEXT;
            ALTER TABLE synthesis ADD COLUMN answer_tie_json TEXT;

            ALTER TABLE distribution ADD COLUMN rotations_json TEXT NOT NULL DEFAULT '[]';
            """),
        // SQLite cannot alter a CHECK constraint. Widening one changes nothing stored, so
        // the table's definition is edited in place (SQLite's documented procedure for
        // loosening a constraint; a rebuild would break the other tables' references to
        // `run`), then the schema is reloaded.
        Migration(version: 4, summary: "run status 'interrupted' (a run stopped by Ctrl-C or SIGTERM)", sql: """
            PRAGMA writable_schema = ON;
            UPDATE sqlite_schema
               SET sql = replace(sql, '(''running'', ''finished'', ''failed'')', '(''running'', ''finished'', ''failed'', ''interrupted'')')
             WHERE type = 'table' AND name = 'run';
            PRAGMA writable_schema = RESET;
            """),
    ]
}
