import CorralEngine
import Foundation
import Hummingbird

/// The session routes (`APIRoute.sessionRoutes`): each decodes, calls the engine, encodes.
extension CorralServer {
    /// `{"ok": true}`: the answer of a route that has nothing else to say.
    struct Done: Encodable { let ok = true }

    func addSessionRoutes(to router: Router<CorralRequestContext>) {
        let engine = self.engine, http = self.http
        func on(_ route: APIRoute, _ handler: @escaping @Sendable (Request, CorralRequestContext, ExecutionContext) async throws -> Response) {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await handler(request, context, ExecutionContext(caller: context.caller, requestID: context.requestID))
            }
        }
        /// The `{id}` of the path, once it names a session of the caller (404/410 before the body is read).
        @Sendable func session(_ context: CorralRequestContext, _ ctx: ExecutionContext) throws -> String {
            let id = try context.parameters.require("id")
            do throws(EngineError) { _ = try engine.session(id, context: ctx) } catch { throw APIError(error) }
            return id
        }
        @Sendable func pid(_ context: CorralRequestContext) throws -> Int {
            let raw = try context.parameters.require("pid")
            guard let pid = Int(raw), pid > 0 else { throw APIError(.invalidRequest, "the process id must be a positive whole number, got '\(raw)'") }
            guard pid <= OpenAPIDocument.maxPID else { throw APIError(.notFound, "no process \(raw) in this session (GET .../processes lists them)") }
            return pid
        }
        @Sendable func path(_ request: Request, required: Bool) throws -> String {
            guard let path = request.uri.queryParameters.get("path") else {
                if required { throw APIError(.invalidRequest, "the query parameter 'path' is required: a path in the workspace") }
                return ""
            }
            return path
        }

        on(.createSession) { request, _, ctx in
            let body = try await JSONBody.decode(CreateSessionRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answer { () throws(EngineError) in try await engine.createSession(body, context: ctx) }
        }
        on(.listSessions) { request, _, ctx in
            var filter: [String: String] = [:]
            if let raw = request.uri.queryParameters.get("metadata"), !raw.isEmpty {
                // Split on the scalars '&' and '=', not on characters: "=" followed by a combining
                // mark (an emoji modifier) is one Character, and the pattern the document states is per scalar.
                for pair in String(raw).unicodeScalars.split(separator: "&", omittingEmptySubsequences: false) {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, !parts[0].isEmpty else {
                        throw APIError(.invalidRequest, "metadata must be k=v with a non-empty k (several joined with '&'), got '\(String(String.UnicodeScalarView(pair)))'")
                    }
                    filter[String(String.UnicodeScalarView(parts[0]))] = String(String.UnicodeScalarView(parts[1]))
                }
            }
            return try JSONBody.response(engine.listSessions(metadata: filter, context: ctx))
        }
        on(.getSession) { _, context, ctx in
            let id = try session(context, ctx)
            return try await Self.answer { () throws(EngineError) in try engine.session(id, context: ctx) }
        }
        on(.deleteSession) { _, context, ctx in
            let id = try session(context, ctx)
            return try await Self.answer { () throws(EngineError) in
                try await OwnThread.run("corral-delete") { () throws(EngineError) in try engine.deleteSession(id, context: ctx) }
                return Done()
            }
        }
        on(.forkSession) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(ForkSessionRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answerInSession { () throws(EngineError) in try await engine.forkSession(id, body, context: ctx) }
        }
        on(.sessionTimeout) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(SessionTimeoutRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answerInSession { () throws(EngineError) in try engine.setSessionTimeout(id, body, context: ctx) }
        }
        on(.sessionExec) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(SessionExecRequest.self, from: request, limit: http.maxBodyBytes)
            if StreamedCall.wants(request), body.background != true {
                return try await StreamedCall.respond { sink throws(EngineError) in
                    do throws(EngineError) {
                        guard case .finished(let response) = try await engine.exec(id, body, context: ctx, onOutput: sink) else {
                            throw EngineError(.internalError, "a foreground command answered as a background one")
                        }
                        return response
                    } catch {
                        var e = error
                        if e.code == .notFound { e.code = .conflict }
                        throw e
                    }
                }
            }
            let outcome: SessionExecOutcome
            do throws(EngineError) { outcome = try await engine.exec(id, body, context: ctx) } catch {
                var e = error
                if e.code == .notFound { e.code = .conflict }  // a cwd the session does not hold (the session exists)
                throw APIError(e)
            }
            switch outcome {
            case .finished(let response): return try JSONBody.response(response)
            case .background(let started): return try JSONBody.response(started)
            }
        }
        on(.sessionProcesses) { _, context, ctx in
            let id = try session(context, ctx)
            return try await Self.answer { () throws(EngineError) in try await engine.sessionProcesses(id, context: ctx) }
        }
        on(.sessionProcess) { request, context, ctx in
            let id = try session(context, ctx), pid = try pid(context)
            var wait: Double?
            if let raw = request.uri.queryParameters.get("wait") {
                guard let value = Double(raw), value.isFinite, value >= 0, value <= Engine.maxProcessWaitSeconds else {
                    throw APIError(.invalidRequest, "wait must be a number of seconds between 0 and \(Int(Engine.maxProcessWaitSeconds)) (ask again to wait longer), got '\(raw)'")
                }
                wait = value
            }
            return try await Self.answer { () throws(EngineError) in try await engine.sessionProcess(id, pid: pid, wait: wait, context: ctx) }
        }
        on(.sessionProcessStdin) { request, context, ctx in
            let id = try session(context, ctx), pid = try pid(context)
            let body = try await JSONBody.decode(ProcessStdinRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answer { () throws(EngineError) in try await engine.sessionProcessStdin(id, pid: pid, body, context: ctx); return Done() }
        }
        on(.sessionProcessSignal) { request, context, ctx in
            let id = try session(context, ctx), pid = try pid(context)
            let body = try await JSONBody.decode(ProcessSignalRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answer { () throws(EngineError) in try await engine.sessionProcessSignal(id, pid: pid, body, context: ctx); return Done() }
        }
        on(.sessionProcessResize) { request, context, ctx in
            let id = try session(context, ctx), pid = try pid(context)
            let body = try await JSONBody.decode(ProcessResizeRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answer { () throws(EngineError) in try await engine.sessionProcessResize(id, pid: pid, body, context: ctx); return Done() }
        }
        on(.sessionProcessConnect) { _, context, ctx in
            let id = try session(context, ctx), pid = try pid(context)
            _ = try await Self.answer { () throws(EngineError) in try await engine.sessionProcess(id, pid: pid, context: ctx) }
            throw APIError(.invalidRequest, "this path is a WebSocket: connect with 'Connection: Upgrade' and 'Upgrade: websocket' "
                + "(ws://HOST/v1/sessions/\(id)/processes/\(pid)/connect)")
        }
        on(.createContext) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(CreateContextRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answerInSession { () throws(EngineError) in try await engine.createContext(id, body, context: ctx) }
        }
        on(.listContexts) { _, context, ctx in
            let id = try session(context, ctx)
            return try await Self.answer { () throws(EngineError) in try await engine.contexts(id, context: ctx) }
        }
        on(.runCode) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(RunCodeRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answerInSession { () throws(EngineError) in try await engine.runCode(id, body, context: ctx) }
        }
        on(.readFile) { request, context, ctx in
            let id = try session(context, ctx), path = try path(request, required: false)
            let read: SessionFileRead
            do throws(EngineError) { read = try engine.readSessionFile(id, path: path, context: ctx) } catch { throw APIError(error) }
            switch read {
            case .directory(let listing): return try JSONBody.response(listing)
            case .file(let bytes): return Self.bytes(bytes, type: "application/octet-stream")
            }
        }
        on(.writeFile) { request, context, ctx in
            let id = try session(context, ctx), path = try path(request, required: true)
            let limit = engine.sessions.settings.maxFileBytes
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: limit) } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw APIError(.payloadTooLarge, "a file written at once is at most \(limit) bytes")
            }
            let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
            return try await Self.answer { () throws(EngineError) in try engine.writeSessionFile(id, path: path, bytes: bytes, context: ctx) }
        }
        on(.deleteFile) { request, context, ctx in
            let id = try session(context, ctx), path = try path(request, required: true)
            // A tree of up to a million entries removed: not on a cooperative thread (the pool is two on two cores).
            return try await Self.answer { () throws(EngineError) in
                try await HeavyWork.sessions.run("corral-remove") { () throws(EngineError) in try engine.deleteSessionFile(id, path: path, context: ctx); return Done() }
            }
        }
        on(.moveFile) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(FileMoveRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answerInSession { () throws(EngineError) in try engine.moveSessionFile(id, body, context: ctx) }
        }
        on(.archive) { request, context, ctx in
            let id = try session(context, ctx), path = try path(request, required: false)
            // Each archive is held in memory, up to maxArchiveBytes about three times over (read, zipped, sent),
            // until its client has read it: the slot is given back when the response body is gone.
            guard let slot = HeavyWork.archives.take() else {
                throw APIError(.limitReached, "\(HeavyWork.archives.limit) archives are being made or sent; retry in a moment", retryAfterSeconds: 5)
            }
            let zip: [UInt8]
            // Reading and zipping up to 512 MiB of files: not on a cooperative thread.
            do throws(EngineError) {
                zip = try await OwnThread.run("corral-archive") { () throws(EngineError) in try engine.sessionArchive(id, path: path, context: ctx) }
            } catch { throw APIError(error) }
            var headers = HTTPFields()
            headers[.contentType] = "application/zip"
            let body = ByteBuffer(bytes: zip)
            return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: body.readableBytes) { writer in
                try await writer.write(body)
                try await writer.finish(nil)
                withExtendedLifetime(slot) {}
            })
        }
        on(.uploadArchive) { request, context, ctx in
            let id = try session(context, ctx), path = try path(request, required: false)
            let limit = engine.sessions.settings.maxUploadBytes
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: limit) } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw APIError(.payloadTooLarge, "an uploaded archive is at most \(limit) bytes")
            }
            let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
            return try await Self.answer { () throws(EngineError) in try await engine.uploadSessionArchive(id, path: path, zip: bytes, context: ctx) }
        }
        on(.changes) { _, context, ctx in
            let id = try session(context, ctx)
            // Walks up to 100,000 changes and compares files with the host's: not on a cooperative thread.
            return try await Self.answer { () throws(EngineError) in
                try await HeavyWork.sessions.run("corral-changes") { () throws(EngineError) in try engine.sessionChanges(id, context: ctx) }
            }
        }
        on(.diff) { request, context, ctx in
            let id = try session(context, ctx), path: String? = request.uri.queryParameters.get("path").map { String($0) }
            return try await Self.answer { () throws(EngineError) in
                try await HeavyWork.sessions.run("corral-diff") { () throws(EngineError) in try engine.sessionDiff(id, path: path, context: ctx) }
            }
        }
        on(.desktopActions) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(DesktopActionsRequest.self, from: request, limit: http.maxBodyBytes)
            return try await Self.answerInSession { () throws(EngineError) in try await engine.desktopActions(id, body, context: ctx) }
        }
        on(.desktopScreenshot) { request, context, ctx in
            let id = try session(context, ctx), query = QueryValues(request)
            let region = DesktopRegion(x: try query.integer(.regionX) ?? 0, y: try query.integer(.regionY) ?? 0,
                                       width: try query.integer(.regionWidth) ?? 0, height: try query.integer(.regionHeight) ?? 0,
                                       scale: try query.integer(.scale) ?? 1)
            let png: [UInt8]
            do throws(EngineError) { png = try await engine.desktopScreenshot(id, region: region, context: ctx) } catch { throw APIError(error) }
            return Self.bytes(png, type: "image/png")
        }
        on(.desktopWindows) { _, context, ctx in
            let id = try session(context, ctx)
            return try await Self.answerInSession { () throws(EngineError) in try await engine.desktopWindows(id, context: ctx) }
        }
        on(.apply) { request, context, ctx in
            let id = try session(context, ctx)
            let body = try await JSONBody.decode(ApplyRequest.self, from: request, limit: http.maxBodyBytes)
            // Writes (and fsyncs) up to 100,000 files on the host: not on a cooperative thread.
            return try await Self.answerInSession { () throws(EngineError) in
                try await HeavyWork.sessions.run("corral-apply") { () throws(EngineError) in try engine.applySessionChanges(id, body, context: ctx) }
            }
        }
    }

    /// The engine's answer as JSON, or its refusal as the API's error.
    static func answer<T: Encodable>(_ body: () async throws(EngineError) -> T) async throws -> Response {
        let value: T
        do throws(EngineError) { value = try await body() } catch { throw APIError(error) }
        return try JSONBody.response(value)
    }

    /// As `answer`, for a request whose body names things in a session the path named and that
    /// exists: what the body names and the session does not hold is a 409 (a 404 means the session).
    static func answerInSession<T: Encodable>(_ body: () async throws(EngineError) -> T) async throws -> Response {
        let value: T
        do throws(EngineError) { value = try await body() } catch {
            var e = error
            if e.code == .notFound { e.code = .conflict }
            throw APIError(e)
        }
        return try JSONBody.response(value)
    }

    static func bytes(_ bytes: [UInt8], type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes[...])))
    }
}
