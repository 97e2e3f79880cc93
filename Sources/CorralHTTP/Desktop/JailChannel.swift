import Glibc
import NIOCore
import NIOPosix

/// A connection Corral made inside a session's network namespace (`Engine.desktopViewerConnection`,
/// `Engine.jupyterConnection`), as an async channel of bytes on the shared event loops.
enum JailChannel {
    typealias Bytes = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// Takes `fd` over (closed here on failure, with the channel after).
    static func wrap(_ fd: Int32) async throws -> Bytes {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(fd) { channel in
                    channel.eventLoop.makeCompletedFuture { try Bytes(wrappingChannelSynchronously: channel) }
                }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Closes `channel` after `seconds` unless cancelled first; its value says whether it did. A
    /// server in a session that never answers must not hold a request, a task and a descriptor
    /// for the session's lifetime.
    static func closing(_ channel: Bytes, after seconds: Int) -> Task<Bool, Never> {
        Task {
            do { try await Task.sleep(for: .seconds(seconds)) } catch { return false }
            channel.channel.close(promise: nil)
            return true
        }
    }
}
