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
