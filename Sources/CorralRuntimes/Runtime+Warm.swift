import CorralSandbox

extension Runtime {
    /// The specs warm jails of `catalog`'s languages start from: the language's warm command and
    /// environment, no files, default limits (the run's replace them at the hand-off).
    static func warmTemplates(_ catalog: LanguageCatalog) -> [String: JailSpec] {
        var templates: [String: JailSpec] = [:]
        for language in catalog.languages where !language.isCompiled {
            guard let warm = language.warm, let bootstrap = WarmBootstrap.source(named: warm.bootstrap) else { continue }
            var limits = ResourceLimits()
            if let minimum = language.minimumLimits { limits = minimum.raise(limits) }
            let argv = warm.run.map { $0 == "{bootstrap}" ? bootstrap : $0 }
            templates[language.name] = JailSpec(arguments: argv, environment: Self.catalogEnvironment(language),
                                                readOnlyPaths: language.paths ?? [], limits: limits)
        }
        return templates
    }

    /// The fork-servers' templates: for each language whose warm entry has a `fork` section (and that
    /// `settings` names), its warm command with the zygote as its program.
    static func forkTemplates(_ catalog: LanguageCatalog, settings: WarmPoolSettings) -> [String: ForkServers.Template] {
        var templates: [String: ForkServers.Template] = [:]
        for language in catalog.languages where settings.forkServers.contains(language.name) {
            guard let warm = language.warm, let fork = warm.fork, warm.bootstrap == "python" else { continue }
            var limits = ResourceLimits()
            if let minimum = language.minimumLimits { limits = minimum.raise(limits) }
            let argv = warm.run.map { $0 == "{bootstrap}" ? "{zygote}" : $0 }
            let spec = JailSpec(arguments: argv, environment: Self.catalogEnvironment(language),
                                readOnlyPaths: language.paths ?? [], limits: limits)
            templates[language.name] = .init(spec: spec, runner: WarmBootstrap.pythonRunner, preload: fork.preload)
        }
        return templates
    }

    /// Runs `request` on a fork of its language's fork-server, or else on a warm jail, when one is
    /// ready and the request can use it; nil: run it cold (no pool, none ready, a request a warm jail
    /// cannot serve, or the jail failed before the run began).
    func runWarm(_ request: RunRequest, language: Language, started: (@Sendable (JailHandle) -> Void)? = nil) async -> RunResult? {
        guard let pools = warmPools, let (files, arguments, environment) = warmRequest(request, language: language) else { return nil }
        var limits = request.limits
        if let minimum = language.minimumLimits { limits = minimum.raise(limits) }
        var run = WarmRun(files: files, writableWorkspace: request.writableWorkspace, limits: limits,
                          request: WarmRequestFrame.encode(arguments: arguments, environment: environment), stdin: request.stdin)
        run.onOutput = request.onOutput
        run.arguments = arguments
        run.environment = environment
        if let servers = pools.forkServers,
           let (server, slot) = await servers.lease(language.name, waitSeconds: max(pools.settings.forkWaitSeconds, pools.settings.waitForJailSeconds)) {
            switch await sandbox.run(run, forkingFrom: server, identity: slot, started: started) {
            case .ran(let result):
                servers.recordFork(language.name)
                return result
            case .fellBack(let reason):
                servers.recordFallback(language.name, reason: reason)
            }
        }
        guard let jail = await pools.take(language.name) else { return nil }
        switch await sandbox.run(run, in: jail, started: started) {
        case .ran(let result):
            return result
        case .fellBack(let reason):
            pools.recordFallback(language.name, reason: reason)
            return nil
        }
    }

    /// Whether `request` would run on a warm jail when one is ready (its language has a pool, and the
    /// request needs nothing a warm jail cannot give).
    public func canRunWarm(_ request: RunRequest) -> Bool {
        guard let pools = warmPools, pools.languages.contains(request.language),
              let language = catalog.language(named: request.language) else { return false }
        return warmRequest(request, language: language) != nil
    }

    /// The files, argv and environment a warm jail gets for `request`, or nil when the request
    /// cannot run warm. argv runs from the run command's source word on: the interpreter and its
    /// flags are the warm command's.
    private func warmRequest(_ request: RunRequest, language: Language)
        -> (files: [JailFile], arguments: [String], environment: [(key: String, value: String)])? {
        guard let warm = language.warm, Self.canRunWarm(request, warm) else { return nil }
        let files = files(of: request, language: language)
        let expanded = expand(language.run, files: files, language: language)
        let first: Int
        if warm.execsRunCommand {
            first = 0
        } else {
            guard let sourceIndex = language.run.firstIndex(where: { $0.contains("{source}") }) else { return nil }
            first = sourceIndex
        }
        let arguments = Array(expanded[first...]) + request.arguments
        let environment = environment(language, request)
        return Self.fitsFrame(arguments, environment) ? (files, arguments, environment) : nil
    }

    /// A warm jail has no network, and its interpreter started without the run's environment: a run
    /// that needs either, or sets what glibc or the interpreter read only at start-up, runs cold.
    static func canRunWarm(_ request: RunRequest, _ warm: Language.WarmStart) -> Bool {
        guard !request.network else { return false }
        if warm.execsRunCommand { return true }
        let prefixes = (warm.startupEnv ?? []) + ["LD_", "LC_", "GLIBC_", "MALLOC_"]
        let names: Set<String> = ["LANG", "LANGUAGE", "TZ"]
        return !request.environment.contains { entry in
            names.contains(entry.key) || prefixes.contains { entry.key.hasPrefix($0) }
        }
    }

    /// What the frame cannot carry (NUL, a name with '=') is refused by the cold path, with its message.
    static func fitsFrame(_ arguments: [String], _ environment: [(key: String, value: String)]) -> Bool {
        !arguments.contains { $0.utf8.contains(0) }
            && !environment.contains { $0.key.isEmpty || $0.key.contains("=") || ($0.key + $0.value).utf8.contains(0) }
    }
}
