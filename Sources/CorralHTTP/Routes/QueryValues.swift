import CorralSandbox
import Foundation
import Hummingbird

/// Reads a request's query parameters with the bounds `QueryParameter` documents: a value the
/// document calls invalid is a 400 naming the parameter, never a default or a trap.
struct QueryValues {
    let request: Request

    init(_ request: Request) { self.request = request }

    func raw(_ parameter: QueryParameter) -> String? { request.uri.queryParameters.get(parameter.name) }

    func integer(_ parameter: QueryParameter) throws -> Int? {
        guard let raw = raw(parameter) else { return nil }
        guard let value = Int(raw) else {
            throw APIError(.invalidRequest, "\(parameter.name) must be a whole number, got '\(raw)'")
        }
        return value
    }

    func boolean(_ parameter: QueryParameter) throws -> Bool? {
        guard let raw = raw(parameter) else { return nil }
        switch raw {
        case "true": return true
        case "false": return false
        default: throw APIError(.invalidRequest, "\(parameter.name) must be true or false, got '\(raw)'")
        }
    }

    func status(_ parameter: QueryParameter) throws -> RunStatus? {
        guard let raw = raw(parameter) else { return nil }
        guard let status = RunStatus(rawValue: raw) else {
            throw APIError(.invalidRequest, "\(parameter.name) must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'")
        }
        return status
    }

    func time(_ parameter: QueryParameter) throws -> Date? {
        guard let raw = raw(parameter) else { return nil }
        guard let date = Self.parseTime(raw) else {
            throw APIError(.invalidRequest, "\(parameter.name) must be RFC 3339 (2024-05-01T12:00:00Z) or Unix seconds, got '\(raw)'")
        }
        return date
    }

    /// Unix seconds, or an RFC 3339 time with an upper-case `T` and `Z` (or an offset). The same
    /// pattern is the parameters' schema; the server parses what it matches and nothing else.
    static let timePattern = "^(?:-?[0-9]+(?:\\.[0-9]+)?|" + rfc3339 + ")$"
    private static let rfc3339 = "([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(\\.[0-9]+)?(Z|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))"

    /// Seconds far enough out for any history (about ±31 million years), near enough that every
    /// store's arithmetic stays finite.
    private static let farSeconds = 1e15

    static func parseTime(_ text: String) -> Date? {
        guard let regex = try? Regex(timePattern), let match = text.wholeMatch(of: regex) else { return nil }
        if match.output.count < 2 || match.output[1].substring == nil {
            // Unix seconds: any number of digits; a huge one stands for "far away", not an error.
            guard let seconds = Double(text) else { return nil }
            return Date(timeIntervalSince1970: min(max(seconds, -farSeconds), farSeconds))
        }
        func int(_ index: Int) -> Int { match.output[index].substring.flatMap { Int($0) } ?? 0 }
        // A day past the month's end rolls over into the next month, as RFC 3339's grammar allows it.
        let days = daysFromCivil(year: int(1), month: int(2), day: int(3))
        var seconds = Double(days * 86_400 + int(4) * 3_600 + int(5) * 60 + int(6))
        if let fraction = match.output[7].substring, let value = Double("0" + fraction) { seconds += value }
        if match.output[9].substring != nil {
            let offset = Double(int(10) * 3_600 + int(11) * 60)
            seconds += match.output[9].substring == "+" ? -offset : offset
        }
        return Date(timeIntervalSince1970: seconds)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
