import CorralSandbox
import Foundation

/// What `GET .../files?path=` found: a file's bytes or a directory's listing.
public enum SessionFileRead: Sendable {
    case file([UInt8])
    case directory(FileListing)
}

/// The files API and the shadow copy's changes, diff and apply. Files are read and written from the
/// host on the session's workspace (`WorkspaceFiles`: never outside it, never through a symlink).
extension Engine {
    public func readSessionFile(_ id: String, path: String, context: ExecutionContext) throws(EngineError) -> SessionFileRead {
        let session = try sessions.session(id, owner: Self.owner(context))
        do throws(WorkspaceFiles.Failure) {
            let entry = try session.files.stat(path)
            switch entry.kind {
            case .directory:
                let entries = try session.files.list(path).map(Self.fileEntry)
                return .directory(FileListing(path: entry.path, entries: entries))
            case .file:
                return .file(try session.files.read(path, limit: sessions.settings.maxFileBytes))
            case .symlink:
                throw WorkspaceFiles.Failure.symlink("'\(entry.path)' is a symlink (to '\(entry.target ?? "?")'), which the files API never follows")
            case .other:
                throw WorkspaceFiles.Failure.invalidPath("'\(entry.path)' is neither a file nor a directory")
            }
        } catch { throw SessionManager.engineError(error) }
    }

    static func fileEntry(_ e: WorkspaceFiles.Entry) -> FileEntry {
        FileEntry(name: e.name, path: e.path, type: e.kind.rawValue, size: e.size, mode: String(e.mode, radix: 8),
                  modifiedAt: (e.modifiedAt * 1000).rounded() / 1000, target: e.target)
    }

    public func writeSessionFile(_ id: String, path: String, bytes: [UInt8], context: ExecutionContext) throws(EngineError) -> FileEntry {
        let session = try sessions.session(id, owner: Self.owner(context))
        guard bytes.count <= sessions.settings.maxFileBytes else {
            throw EngineError(.payloadTooLarge, "a file written at once is at most \(sessions.settings.maxFileBytes) bytes")
        }
        if case .readOnly = session.jail.workspace.kind { throw EngineError(.forbidden, "the session's workspace is a read-only mount") }
        do throws(WorkspaceFiles.Failure) {
            try session.files.write(path, bytes)
            return Self.fileEntry(try session.files.stat(path))
        } catch { throw SessionManager.engineError(error) }
    }

    public func deleteSessionFile(_ id: String, path: String, context: ExecutionContext) throws(EngineError) {
        let session = try sessions.session(id, owner: Self.owner(context))
        if case .readOnly = session.jail.workspace.kind { throw EngineError(.forbidden, "the session's workspace is a read-only mount") }
        do throws(WorkspaceFiles.Failure) { try session.files.remove(path) } catch { throw SessionManager.engineError(error) }
    }

    public func moveSessionFile(_ id: String, _ request: FileMoveRequest, context: ExecutionContext) throws(EngineError) -> FileEntry {
        let session = try sessions.session(id, owner: Self.owner(context))
        if case .readOnly = session.jail.workspace.kind { throw EngineError(.forbidden, "the session's workspace is a read-only mount") }
        do throws(WorkspaceFiles.Failure) {
            try session.files.move(request.from, to: request.to)
            return Self.fileEntry(try session.files.stat(request.to))
        } catch { throw SessionManager.engineError(error) }
    }

    /// A zip of a workspace directory (symlinks and special files left out).
    public func sessionArchive(_ id: String, path: String, context: ExecutionContext) throws(EngineError) -> [UInt8] {
        let session = try sessions.session(id, owner: Self.owner(context))
        // A scratch workspace holds at most disk_mb; sparse files claim more (tmpfs counts written blocks only)
        // and are read whole, zeros and all: bounded like a task's files (TaskDirectory.copy).
        let maxBytes = session.mount == nil ? min(sessions.settings.maxArchiveBytes, session.limits.diskMb << 20) : sessions.settings.maxArchiveBytes
        do throws(WorkspaceArchive.Failure) {
            return try WorkspaceArchive.make(session.files, directory: path, maxBytes: maxBytes).bytes
        } catch {
            switch error {
            case .tooLarge(let m): throw EngineError(.payloadTooLarge, m)
            case .files(let f): throw SessionManager.engineError(f)
            }
        }
    }

    /// Unpacks an uploaded zip into a workspace directory. The archive is checked whole before
    /// anything is written (no absolute or `..` name, no symlink or special entry, entry count,
    /// declared size and inflation ratio), then unpacked inside the jail by its agent as the
    /// session's user, counting the bytes actually inflated against the session's disk.
    public func uploadSessionArchive(_ id: String, path: String, zip: [UInt8], context: ExecutionContext) async throws(EngineError) -> UnpackReport {
        let session = try sessions.session(id, owner: Self.owner(context))
        if case .readOnly = session.jail.workspace.kind { throw EngineError(.forbidden, "the session's workspace is a read-only mount") }
        let settings = sessions.settings
        guard zip.count <= settings.maxUploadBytes else {
            throw EngineError(.payloadTooLarge, "an uploaded archive is at most \(settings.maxUploadBytes) bytes")
        }
        let destination: String
        do throws(WorkspaceFiles.Failure) { destination = try WorkspaceFiles.normalise(path) } catch { throw SessionManager.engineError(error) }
        let staged = ".corral-upload-\(UInt64.random(in: 0...UInt64.max)).zip"
        do throws(WorkspaceFiles.Failure) { try session.files.write(staged, zip, mode: 0o600) } catch { throw SessionManager.engineError(error) }
        defer { try? session.files.remove(staged) }
        let reply = try await session.agent.call([
            "op": "unpack", "zip": JailSpec.workspacePath + "/" + staged,
            "dest": destination.isEmpty ? JailSpec.workspacePath : JailSpec.workspacePath + "/" + destination,
            "max_files": settings.maxUploadEntries, "max_bytes": session.limits.diskMb << 20, "max_ratio": settings.maxUploadRatio,
        ], deadline: 300, refused: .invalidRequest)
        return UnpackReport(files: reply.int("files") ?? 0, bytes: reply.int("bytes") ?? 0)
    }

    // MARK: - Shadow copies

    private func shadow(_ id: String, context: ExecutionContext) throws(EngineError) -> ShadowChanges {
        let session = try sessions.session(id, owner: Self.owner(context))
        guard let shadow = session.shadow else {
            throw EngineError(.conflict, "session \(id) has no shadow mount: changes, diff and apply need one (create it with mount: {host_path, mode: \"shadow\"})")
        }
        return shadow
    }

    public func sessionChanges(_ id: String, context: ExecutionContext) throws(EngineError) -> ChangesReport {
        let shadow = try self.shadow(id, context: context)
        do throws(ShadowChanges.Failure) { return Self.report(try shadow.changes()) } catch { throw Self.engineError(error) }
    }

    static func report(_ changes: [ShadowChanges.Change]) -> ChangesReport {
        ChangesReport(changes: changes.map { ChangesReport.Change(path: $0.path, kind: $0.kind.rawValue, type: $0.type.rawValue) })
    }

    static func engineError(_ failure: ShadowChanges.Failure) -> EngineError {
        switch failure {
        case .conflicts(let paths):
            EngineError(.conflict, "the host changed since the session began, at: \(paths.joined(separator: ", ")); nothing was applied "
                + "(apply other paths, or send force: true to overwrite)")
        case .notChanged(let paths): EngineError(.notFound, "not changed in the session (GET .../changes lists what is): \(paths.joined(separator: ", "))")
        case .special(let paths):
            EngineError(.conflict, "FIFOs, sockets and devices cannot be applied: \(paths.prefix(20).joined(separator: ", ")); nothing was applied "
                + "(remove them in the session, or leave them out of paths)")
        case .invalidPath(let path): EngineError(.invalidRequest, "'\(path)' is not a path in the workspace (relative, without '..')", field: "paths")
        case .tooMany:
            EngineError(.conflict, "the session changed more than \(ShadowChanges.maxChanges) paths (or paths of more than "
                + "\(ShadowChanges.maxPathBytes >> 20) MiB in all): list and apply them by directory (paths)")
        case .blocked(let paths):
            EngineError(.conflict, "the host directory holds a symlink or a file where these changes need a directory (never followed): "
                + "\(paths.joined(separator: ", ")); nothing was applied")
        case .tooDeep(let path):
            EngineError(.conflict, "the session made directories more than \(WorkspaceFiles.maxDepth) levels deep (at '\(path.prefix(120))…'), "
                + "deeper than Corral walks: remove or flatten them in the session")
        case .tooLarge(let m): EngineError(.payloadTooLarge, m)
        case .hostReplaced(let m): EngineError(.conflict, m)
        case .failed(let m): EngineError(.internalError, m)
        }
    }

    /// A unified diff of the changes (one path, or all); binary files named, not dumped.
    public func sessionDiff(_ id: String, path: String?, context: ExecutionContext) throws(EngineError) -> DiffReport {
        let shadow = try self.shadow(id, context: context)
        var changes: [ShadowChanges.Change]
        do throws(ShadowChanges.Failure) { changes = try shadow.changes() } catch { throw Self.engineError(error) }
        if let path {
            let wanted: String
            do throws(WorkspaceFiles.Failure) { wanted = try WorkspaceFiles.normalise(path) } catch { throw SessionManager.engineError(error) }
            changes = changes.filter { $0.path == wanted || $0.path.hasPrefix(wanted + "/") }
        }
        var diff = "", binary: [String] = [], notDiffed: [String] = []
        var lines = 0, read = 0
        let limit = 4 << 20
        for change in changes where change.type == .file {
            // One answer's budget: a session can change 100,000 files of 20,000 lines each, or 100,000 sparse
            // files of 4 MiB of zeros each (free on its tmpfs; binary, so neither text nor lines count them).
            guard diff.utf8.count <= Self.maxDiffBytes, lines <= Self.maxDiffLines, read <= Self.maxDiffReadBytes else {
                notDiffed.append(change.path); continue
            }
            let (old, new) = shadow.contents(change.path, limit: limit)
            let oldBytes = change.kind == .added ? [] : old ?? [], newBytes = change.kind == .deleted ? [] : new ?? []
            read += (old?.count ?? 0) + (new?.count ?? 0)
            lines += oldBytes.count { $0 == 10 } + newBytes.count { $0 == 10 }
            guard Self.isText(oldBytes), Self.isText(newBytes) else {
                binary.append(change.path)
                diff += "Binary files a/\(change.path) and b/\(change.path) differ\n"
                continue
            }
            diff += UnifiedDiff.make(old: String(decoding: oldBytes, as: UTF8.self), new: String(decoding: newBytes, as: UTF8.self),
                                     oldName: change.kind == .added ? "/dev/null" : "a/" + change.path,
                                     newName: change.kind == .deleted ? "/dev/null" : "b/" + change.path)
        }
        if !notDiffed.isEmpty {
            diff += "@@ \(notDiffed.count) more changed files not diffed (one answer holds at most \(Self.maxDiffBytes >> 20) MiB "
                + "and \(Self.maxDiffLines) lines, from \(Self.maxDiffReadBytes >> 20) MiB read; ask with path=): \(notDiffed.prefix(20).joined(separator: ", "))"
                + (notDiffed.count > 20 ? ", …" : "") + " @@\n"
        }
        return DiffReport(diff: diff, binaryFiles: binary)
    }

    /// The most one diff answer holds: bytes of diff text, and lines of the files compared.
    static let maxDiffBytes = 64 << 20
    static let maxDiffLines = 2_000_000
    /// …and bytes of both sides read.
    static let maxDiffReadBytes = 256 << 20

    static func isText(_ bytes: [UInt8]) -> Bool {
        !bytes.prefix(8192).contains(0) && String(validatingUTF8: bytes.map { CChar(bitPattern: $0) } + [0]) != nil
    }

    public func applySessionChanges(_ id: String, _ request: ApplyRequest, context: ExecutionContext) throws(EngineError) -> ChangesReport {
        let shadow = try self.shadow(id, context: context)
        do throws(ShadowChanges.Failure) {
            return Self.report(try shadow.apply(paths: request.paths, force: request.force ?? false))
        } catch { throw Self.engineError(error) }
    }
}
