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
    /// Fields that hold one object, with its type: checked like a body of its own.
    static var objectTypes: [String: any KnownFields.Type] { get }
    /// Other names of fields (alias → canonical name); a body may give only one of the two.
    static var aliases: [String: String] { get }
    /// Checks of the decoded body that need no configuration (the schema states them too);
    /// throws with what to fix. Checks that depend on the configuration are the engine's.
    func checkShape() throws(EngineError)
}

extension KnownFields {
    public static var wholeNumberFields: Set<String> { [] }
    public static var elementTypes: [String: any KnownFields.Type] { [:] }
    public static var objectTypes: [String: any KnownFields.Type] { [:] }
    public static var aliases: [String: String] { [:] }
    public func checkShape() throws(EngineError) {}
}

extension ExecuteRequest: KnownFields {
    public static var wholeNumberFields: Set<String> {
        [CodingKeys.maxMemoryMb.rawValue, CodingKeys.maxOutputSize.rawValue, CodingKeys.cpuPercent.rawValue,
         SeedAlias.maxCPUPercent.rawValue]
    }

    public static var aliases: [String: String] {
        Dictionary(uniqueKeysWithValues: SeedAlias.allCases.map { ($0.rawValue, $0.canonical.rawValue) })
    }

    public func checkShape() throws(EngineError) {
        if RequestText.isBlank(code) {
            throw EngineError(.invalidRequest, "code is empty: send the program's source in 'code'")
        }
        // A NUL byte cannot cross execve: refused here, before any jail, as the schema says.
        if (args ?? []).contains(where: RequestText.hasNUL) {
            throw EngineError(.invalidRequest, "an argument in 'args' contains a NUL byte, which cannot be passed to a program")
        }
        for (name, value) in (environmentVars ?? [:]).sorted(by: { $0.key < $1.key })
        where RequestText.hasNUL(name) || RequestText.hasNUL(value) {
            throw EngineError(.invalidRequest, "environment variable '\(name.replacingOccurrences(of: "\0", with: "\\0"))' contains a NUL byte, which cannot be passed to a program")
        }
    }
}

extension ValidateRequest: KnownFields {
    public func checkShape() throws(EngineError) {
        if RequestText.isBlank(code) {
            throw EngineError(.invalidRequest, "code is empty: send the source to validate in 'code'")
        }
        if strictMode == false {
            throw EngineError(.invalidRequest, """
                strict_mode false is not a mode of /v1/validate: it always judges as strict mode does \
                (is_safe is false when a finding reaches the threshold); leave strict_mode out or send true, \
                and use 'threshold' to change what counts
                """)
        }
    }
}
