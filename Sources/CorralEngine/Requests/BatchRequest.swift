/// The body of `POST /v1/execute/batch`: execute requests run at once, answered in order.
/// Each item is decoded and checked like the body of `POST /v1/execute`, unknown fields included;
/// what needs the configuration (language, limits, profile) is checked per item, its error in place.
public struct BatchRequest: Sendable, Decodable, KnownFields {
    public var requests: [ExecuteRequest]

    public init(requests: [ExecuteRequest]) { self.requests = requests }

    enum CodingKeys: String, CodingKey, CaseIterable { case requests }

    public static let fieldNames: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))
    public static var elementTypes: [String: any KnownFields.Type] { [CodingKeys.requests.rawValue: ExecuteRequest.self] }

    public func checkShape() throws(EngineError) {
        for (index, request) in requests.enumerated() {
            do { try request.checkShape() } catch {
                throw EngineError(error.kind, "requests[\(index)]: \(error.message)")
            }
        }
    }
}
