/// A request body whose fields are known, so that `RequestDecoding` can refuse a typo rather
/// than ignore it, and name a number that does not fit before the decoder sees it.
public protocol KnownFields: Decodable {
    /// Every field the body may carry.
    static var fieldNames: Set<String> { get }
    /// Fields that take a whole number (`Int`). Foundation's decoder reports a number that does
    /// not fit one (`1e19`, `0.5`, 2^63) as "the given data was not valid JSON", without the field.
    static var wholeNumberFields: Set<String> { get }
    /// Fields that hold a list of objects, with the type of each element: checked like a body of
    /// their own (a batch's `requests`: each item exactly like a single request).
    static var elementTypes: [String: any KnownFields.Type] { get }
}

extension KnownFields {
    public static var wholeNumberFields: Set<String> { [] }
    public static var elementTypes: [String: any KnownFields.Type] { [:] }
}

extension ExecuteRequest: KnownFields {
    public static var wholeNumberFields: Set<String> {
        [CodingKeys.maxMemoryMb.rawValue, CodingKeys.maxOutputSize.rawValue]
    }
}

extension ValidateRequest: KnownFields {}
