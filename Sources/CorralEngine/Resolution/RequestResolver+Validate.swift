import CorralPolicy
import CorralRuntimes

extension RequestResolver {
    /// A validation request's language and options: the profile's options (or the configured
    /// threshold), then the request's flags and threshold.
    func validation(_ request: ValidateRequest) throws(EngineError) -> (language: Language, options: ValidationOptions) {
        let language = try language(named: request.language)
        try checkSize(ofCode: request.code)
        let profile = try profile(named: request.profile)
        var options = profile?.validationOptions ?? ValidationOptions(threshold: configuration.policyThreshold)
        if let v = request.allowNetwork { options.allowNetwork = v }
        if let v = request.allowFilesystem { options.allowFilesystem = v }
        if let v = request.authorizedImports { options.authorizedImports = v }
        if let v = try threshold(request.threshold) { options.threshold = v }
        return (language, options)
    }
}
