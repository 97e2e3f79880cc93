import CorralSandbox

/// The compile cache's key: one function over every input that can change what a successful
/// compile writes to `/out`. Artifacts are shared between requests and tenants, so an input that
/// changes them and is missing here lets one tenant's build run as another's program.
///
/// Inputs taken from the stage itself, not recomputed: the key covers exactly what the jail gets.
enum CompileCacheKey {
    /// Bumped whenever the inputs change. v1 left out the environment (and the request's
    /// environment then reached the compiler): no v1 entry may ever be found again.
    static let version = "corral-compile-v2"

    /// The key of `stage`'s artifacts, as a hex SHA-256.
    ///
    /// Not inputs, on purpose:
    /// - Limits. Only compiles that succeeded without tripping any limit are cached
    ///   (`CompileResult.isCacheable`). A limit decides whether a compile succeeds, not what it
    ///   produces: none of these toolchains sizes its output by memory, processes or time (Go and
    ///   rustc build the same bytes whatever their parallelism). Keying on limits would only split
    ///   the cache per tenant setting, which `namespace` does when wanted.
    /// - The request's environment, arguments, stdin and network flag: the compile jail gets
    ///   none of them (catalog environment only, no stdin, never a network).
    static func make(_ stage: CompileStage, toolchainVersion: String, namespace: String?) -> String {
        var h = SHA256()
        // What the rest is laid out by; a new layout must not collide with an old one.
        h.field(version)
        // Languages may share a compiler (c and cpp both drive gcc) with different run commands.
        h.field(stage.language.name)
        // The same command with an upgraded toolchain builds something else.
        h.field(toolchainVersion)
        // The command: the catalog's template, the source paths it expanded to and the request's
        // compiler options (`-D`, `-O`, `-wrapper` …), each one field so that no two lists collide.
        h.field("argv \(stage.argv.count)")
        stage.argv.forEach { h.field($0) }
        // Toolchains read their environment (GOFLAGS, NODE_OPTIONS, JDK_JAVAC_OPTIONS, CCC_OVERRIDE_OPTIONS,
        // SOURCE_DATE_EPOCH, option_env! …). It is the catalog's alone, but a catalog edit must not
        // find artifacts built under the old one. Order kept: later duplicates would win in the jail.
        h.field("env \(stage.environment.count)")
        for (key, value) in stage.environment { h.field(key); h.field(value) }
        // Host paths bound read-only are what the toolchain includes and links from.
        h.field("paths \(stage.readOnlyPaths.count)")
        stage.readOnlyPaths.forEach { h.field($0) }
        // The program: every file with its name, bytes and exec bit (the same fields as the result key's).
        h.field(stage.files)
        // Defence in depth: a tenant namespace separates caches even if an input above is ever
        // missed. nil shares artifacts between everyone; "" is a namespace like any other.
        if let namespace {
            h.field("namespace")
            h.field(namespace)
        } else {
            h.field("shared")
        }
        return h.hexDigest()
    }
}
