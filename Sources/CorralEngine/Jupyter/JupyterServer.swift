/// A session's Jupyter server (`POST /v1/sessions/{id}/jupyter`): the classic notebook server
/// inside the jail, on the jail's own loopback, with a random token only Corral knows.
public struct JupyterServer: Sendable, Equatable {
    /// Jupyter's token: the proxy adds it to every request (clients never need it).
    public var token: String
    /// The path Jupyter serves under, the proxy's own (`/v1/sessions/{id}/jupyter/`).
    public var basePath: String
    public var processID: Int
    /// Its port on the session's own loopback (never a host port).
    public static let port: UInt16 = 8888
    public var port: UInt16 { Self.port }
}

enum JupyterState: Sendable, Equatable {
    case stopped
    case starting
    case running(JupyterServer)
}

/// What `POST /v1/sessions/{id}/jupyter` answers.
public struct JupyterReport: Sendable, Encodable {
    /// The notebook's tree page, through Corral (send the API key).
    public var url: String
    /// The server's process in the session (`GET .../processes/{pid}`).
    public var processID: Int
    /// False when it was already running.
    public var started: Bool
    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, started
        case processID = "process_id"
    }
}

enum JupyterScripts {
    /// The notebook server, its state under /tmp (the session's HOME may be read-only), its files
    /// the workspace's.
    static func start(token: String, basePath: String, port: UInt16) -> String {
        let state = "/tmp/.corral-jupyter"
        return "mkdir -p \(state) && cd /workspace && JUPYTER_RUNTIME_DIR=\(state)/runtime JUPYTER_DATA_DIR=\(state)/data "
            + "JUPYTER_CONFIG_DIR=\(state)/config IPYTHONDIR=\(state)/ipython MPLCONFIGDIR=\(state)/mpl "
            + "exec python3 -m notebook --no-browser --ip=127.0.0.1 --port=\(port) --port-retries=0 "
            + "--NotebookApp.token=\(DesktopScripts.quoted(token)) --NotebookApp.base_url=\(DesktopScripts.quoted(basePath)) "
            + "--NotebookApp.notebook_dir=/workspace > \(state).log 2>&1"
    }

    static let log = "tail -c 2000 /tmp/.corral-jupyter.log 2>/dev/null"
}

extension JupyterReport: SchemaDescribed {
    public static func schema(in context: SchemaContext) -> JSONSchema {
        .object(CodingKeys.self) { key in
            switch key {
            case .url: JSONSchema.string(minLength: 1).described("The notebook's tree page through Corral (send the API key).")
            case .processID: JSONSchema.integer(minimum: 1).described("The server's process in the session.")
            case .started: JSONSchema.boolean.described("False when it was running already.")
            }
        }
    }
}
