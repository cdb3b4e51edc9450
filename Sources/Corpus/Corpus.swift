// Corpus: the SQLite store of a pluralism run: schema and migrations, the call archive,
// typed reads and writes, and the content digest.
