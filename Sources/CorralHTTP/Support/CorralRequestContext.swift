import Hummingbird

/// The request context of Corral's routes: Hummingbird's core plus the
/// correlation id and the authenticated caller.
public struct CorralRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// From `X-Request-ID`, or generated.
    public var requestID: String = ""
    /// The API key's name, when keys are configured.
    public var caller: String?

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
