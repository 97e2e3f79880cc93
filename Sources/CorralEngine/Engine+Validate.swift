import CorralPolicy

extension Engine {
    /// Static validation without running (seed 000 `validate_code`): the same resolution of the
    /// language, profile and threshold as an execution, the same validator.
    public func validate(_ request: ValidateRequest) async throws(EngineError) -> ValidationReport {
        let (language, options) = try resolver.validation(request)
        return await policy.validate(code: request.code, codeHash: RequestResolver.sha256(request.code), language: language.name,
                                     options: options)
    }
}
