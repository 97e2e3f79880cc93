/// The body of `POST /v1/execute/batch`: execute requests run at once, answered in order.
/// Each item is decoded and checked like the body of `POST /v1/execute`, unknown fields included.
public struct BatchRequest: Sendable, Decodable, KnownFields {
    public var requests: [ExecuteRequest]

    public init(requests: [ExecuteRequest]) { self.requests = requests }

    public static let fieldNames: Set<String> = ["requests"]
    public static var elementTypes: [String: any KnownFields.Type] { ["requests": ExecuteRequest.self] }
}
