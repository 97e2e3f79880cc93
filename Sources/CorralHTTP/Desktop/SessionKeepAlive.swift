import CorralEngine

/// A long WebSocket into a session (a desktop viewer, a Jupyter kernel) is activity: while it is
/// open its session's idle timer is restarted every second, so a session watched or worked in
/// through one does not expire under it. Run it as a child task; cancelling it ends it.
enum SessionKeepAlive {
    static let interval: UInt64 = 1_000_000_000

    static func run(engine: Engine, session id: String, context: ExecutionContext) async {
        while !Task.isCancelled, engine.touchSession(id, context: context) {
            do { try await Task.sleep(nanoseconds: interval) } catch { return }
        }
        // The session is gone: wait to be cancelled with the connection (`group.next()` waits for another task).
        while !Task.isCancelled {
            do { try await Task.sleep(nanoseconds: 60 * interval) } catch { return }
        }
    }
}
