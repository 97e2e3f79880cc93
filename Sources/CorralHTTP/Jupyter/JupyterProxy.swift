import CorralEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/v1/sessions/{id}/jupyter/...`: Jupyter's HTTP API and pages, proxied to the session's notebook
/// server behind Corral's own auth. The proxy adds Jupyter's token and never passes the caller's key
/// on; the answer is Jupyter's (hostile input: only its status, a few headers and the body pass).
extension CorralServer {
    func addJupyterRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, http = self.http
        router.on(RouterPath(APIRoute.startJupyter.path), method: .post) { _, context in
            let id = try context.parameters.require("id")
            let ctx = ExecutionContext(caller: context.caller, requestID: context.requestID)
            return try await Self.answer { () throws(EngineError) in try await engine.startJupyter(id, context: ctx) }
        }
        for route in APIRoute.jupyterProxies {
            router.on(RouterPath(route.routerPath), method: route.method) { request, context in
                let id = try context.parameters.require("id")
                let ctx = ExecutionContext(caller: context.caller, requestID: context.requestID)
                let body: ByteBuffer
                do { body = try await request.body.collect(upTo: http.maxBodyBytes) } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                    throw APIError(.payloadTooLarge, "a body through the Jupyter proxy is at most \(http.maxBodyBytes) bytes")
                }
                let connection: (server: JupyterServer, fd: Int32)
                do throws(EngineError) { connection = try engine.jupyterConnection(id, context: ctx) } catch { throw APIError(error) }
                return try await JupyterProxy.forward(request, body: body, to: connection, answerSeconds: http.jupyterAnswerSeconds)
            }
        }
    }
}

enum JupyterProxy {
    /// Request headers passed to Jupyter (never Authorization, X-API-Key or Cookie: Corral's, not Jupyter's).
    static let forwardedHeaders: [HTTPField.Name] = [.contentType, .accept, .ifNoneMatch, .ifModifiedSince]
    /// Response headers passed back.
    static let returnedHeaders: Set<String> = ["content-type", "location", "cache-control", "etag", "last-modified", "content-disposition"]
    static let maxResponseBytes = 256 << 20
    /// Bytes of Jupyter's answers and kernel messages held at once, all requests and sockets
    /// together: each may hold up to `maxResponseBytes`, and a caller may open as many as it likes
    /// (a program in the session can make every answer that big). Past it: 429 `limit_reached`.
    static let maxHeldBytes = 512 << 20
    static let held = Backlog(limit: maxHeldBytes)

    static func head(_ request: Request, target: String, token: String, extra: [String]) -> String {
        var lines = ["\(request.method.rawValue) \(target) HTTP/1.0", "Host: 127.0.0.1:\(JupyterServer.port)", "Authorization: token \(token)"]
        for name in forwardedHeaders { if let value = request.headers[name] { lines.append("\(name.canonicalName): \(value)") } }
        return (lines + extra).joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// One request over its own connection (HTTP/1.0: the answer ends when Jupyter closes it).
    static func forward(_ request: Request, body: ByteBuffer, to connection: (server: JupyterServer, fd: Int32), answerSeconds: Int) async throws -> Response {
        let target = request.head.path ?? request.uri.path
        let channel = try await JailChannel.wrap(connection.fd)
        let deadline = JailChannel.closing(channel, after: answerSeconds)
        var answer = ByteBuffer()
        var counted = 0
        defer { held.written(counted) }
        do {
            try await channel.executeThenClose { inbound, outbound in
                var out = ByteBuffer(string: head(request, target: target, token: connection.server.token, extra: ["Content-Length: \(body.readableBytes)"]))
                out.writeImmutableBuffer(body)
                try await outbound.write(out)
                for try await chunk in inbound {
                    guard held.add(chunk.readableBytes) else {
                        throw APIError(.limitReached, "the Jupyter proxy holds \(maxHeldBytes >> 20) MiB of answers already; retry shortly",
                                       retryAfterSeconds: 2)
                    }
                    counted += chunk.readableBytes
                    answer.writeImmutableBuffer(chunk)
                    guard answer.readableBytes <= maxResponseBytes else { throw APIError(.payloadTooLarge, "Jupyter's answer is over \(maxResponseBytes) bytes") }
                }
            }
        } catch let error as APIError {
            deadline.cancel()
            throw error
        } catch {
            deadline.cancel()
            if await deadline.value { throw APIError(.internalError, "Jupyter did not answer within \(answerSeconds) s") }
            throw error
        }
        deadline.cancel()
        if await deadline.value { throw APIError(.internalError, "Jupyter did not answer within \(answerSeconds) s") }
        guard let end = answer.readableBytesView.firstRange(of: [13, 10, 13, 10]) else {
            throw APIError(.internalError, "Jupyter closed the connection without a whole answer (\(answer.readableBytes) bytes)")
        }
        let lines = String(decoding: answer.readableBytesView[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = lines.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        guard (100...599).contains(status) else { throw APIError(.internalError, "Jupyter answered something that is not HTTP") }
        var headers = HTTPFields()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            guard returnedHeaders.contains(name), let field = HTTPField.Name(name) else { continue }
            headers.append(HTTPField(name: field, value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        answer.moveReaderIndex(to: end.upperBound) // the body, without a copy
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: answer))
    }
}
