import CorralStore

extension Engine {
    /// Seed 000 `get_execution_history` from a front end's parameters: the filters, times and
    /// page resolved by the one set of rules (`HistoryRequest`), newest first.
    public func history(_ request: HistoryRequest) async throws(EngineError) -> HistoryPage {
        try await history(try resolver.historyQuery(request))
    }

    /// Totals over the recorded history (`corral stats`, `/v1/stats`'s `history`).
    public func historySummary() async throws(EngineError) -> HistorySummary {
        do { return try await history.summary() } catch {
            throw EngineError(.internalError, "cannot read history: \(error)")
        }
    }
}
