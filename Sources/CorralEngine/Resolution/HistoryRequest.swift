import CorralSandbox
import CorralStore
import Foundation

/// A history query as a front end receives it (seed 000 `get_execution_history`): filters, and
/// times as text. The engine resolves it with one set of rules for every front end.
public struct HistoryRequest: Sendable, Equatable {
    /// Rows when the request names no limit (seed 000).
    public static let defaultLimit = 100

    /// A language name or alias.
    public var language: String?
    /// A result status (`success`, `timeout`, …).
    public var status: String?
    /// Executions at or after this time: ISO 8601 (`2026-11-22T10:00:00Z`) or Unix seconds.
    public var since: String?
    /// Executions before this time, in the same forms.
    public var until: String?
    /// Rows, 1…`HistoryQuery.maxLimit`; nil: `defaultLimit`.
    public var limit: Int?
    /// Rows to skip, 0 or more.
    public var offset: Int?

    public init(language: String? = nil, status: String? = nil, since: String? = nil, until: String? = nil,
                limit: Int? = nil, offset: Int? = nil) {
        self.language = language; self.status = status; self.since = since; self.until = until
        self.limit = limit; self.offset = offset
    }

    /// The request of a URL query (`?language=&status=&since=&until=&limit=&offset=`); a number
    /// that is not one is refused naming the parameter.
    public init(parameters: [String: String]) throws(EngineError) {
        func int(_ name: String) throws(EngineError) -> Int? {
            guard let raw = parameters[name] else { return nil }
            guard let value = Int(raw) else {
                throw EngineError(.invalidRequest, "\(name) must be a whole number, got '\(raw)'", field: name)
            }
            return value
        }
        self.init(language: parameters["language"], status: parameters["status"], since: parameters["since"],
                  until: parameters["until"], limit: try int("limit"), offset: try int("offset"))
    }
}

extension RequestResolver {
    /// The store query for `request`: a known status, times that parse and are in order, a page within range.
    func historyQuery(_ request: HistoryRequest) throws(EngineError) -> HistoryQuery {
        if let status = request.status, RunStatus(rawValue: status) == nil {
            throw EngineError(.invalidRequest, "status must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", ")); got '\(status)'",
                              field: "status")
        }
        // History rows hold canonical names: an alias finds its language; an unknown name is kept
        // (history may hold languages since removed from the catalog).
        let language = request.language.map { catalog.language(named: $0)?.name ?? $0 }
        var query = HistoryQuery(language: language, status: request.status, limit: request.limit ?? HistoryRequest.defaultLimit,
                                 offset: request.offset ?? 0)
        query.since = try Self.time(request.since, field: "since")
        query.until = try Self.time(request.until, field: "until")
        try Self.checkPage(query)
        return query
    }

    /// The one rule for a page of history: limit 1…`maxLimit` (never clamped), offset 0 or more, since before until.
    static func checkPage(_ query: HistoryQuery) throws(EngineError) {
        guard (1...HistoryQuery.maxLimit).contains(query.limit) else {
            throw EngineError(.invalidRequest, "limit must be between 1 and \(HistoryQuery.maxLimit), got \(query.limit)", field: "limit")
        }
        guard query.offset >= 0 else {
            throw EngineError(.invalidRequest, "offset must be 0 or more, got \(query.offset)", field: "offset")
        }
    }

    /// An ISO 8601 time or Unix seconds.
    static func time(_ text: String?, field: String) throws(EngineError) -> Date? {
        guard let text else { return nil }
        if let seconds = Double(text), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions.insert(.withFractionalSeconds)
        if let date = formatter.date(from: text) { return date }
        throw EngineError(.invalidRequest, "\(field) must be an ISO 8601 time (2026-11-22T10:00:00Z) or Unix seconds, got '\(text)'",
                          field: field)
    }
}
