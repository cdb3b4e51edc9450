extension Corpus {
    /// The request JSON of the newest archived call to a configured model (backend, base URL
    /// and model name), or nil when there is none: it records the identity the server had
    /// then, which a served model compares with the identity it has now.
    public func latestRequestJSON(backend: String, baseURL: String, model: String) throws -> String? {
        try database.fetchValue(
            """
            SELECT request_json FROM call WHERE backend = ? AND base_url = ? AND model = ?
            ORDER BY created_at DESC, rowid DESC LIMIT 1
            """, [backend, baseURL, model])
    }
}

extension Corpus {
    /// How many of a run's comments were cut at `max_tokens` (their archived answer's
    /// `finishReason` is "length"): a run summary reports it, because a cut comment says less
    /// than its community would have.
    public func truncatedCommentCount(runID: String) throws -> Int {
        try database.fetchValue(
            """
            SELECT count(*) FROM comment c JOIN call k ON k.key = c.call_key
            WHERE c.run_id = ? AND json_extract(k.response_json, '$.finishReason') = 'length'
            """, [runID]) ?? 0
    }
}
