/// What a finding is about. The first six come from issue 5; `policy` marks
/// breaches of the request's own policy (an import outside the authorized list).
/// Decoders should expect new categories to appear.
public enum FindingCategory: String, Sendable, Codable, CaseIterable {
    case filesystem
    case network
    case process
    case dynamicCode = "dynamic_code"
    case privilege
    case resource
    case policy
}
