import CorralEngine
import CorralHTTP
import CorralTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// `POST /v1/sessions/{id}/archive`: an uploaded zip is checked whole before anything is written
/// and unpacked inside the jail; zip-slip, absolute names, symlinks and bombs are refused with a
/// 400 and leave nothing behind, in the session or on the host.
@Suite(.enabled(if: TestSupport.jailsAvailable), .serialized)
struct SessionUploadTests {
    /// A zip made by Python's zipfile from a small script (entries, modes, compression).
    static func zip(_ script: String) throws -> [UInt8] {
        let path = NSTemporaryDirectory() + "corral-upload-\(UUID().uuidString).zip"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n" + script + "\nz.close()", path]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let data = FileManager.default.contents(atPath: path) else { throw SessionTestError("python could not make the zip") }
        return Array(data)
    }

    func upload(_ client: LiveClient, _ id: String, path: String, _ bytes: [UInt8]) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: "/v1/sessions/\(id)/archive?path=\(path)", method: .post, headers: [.contentType: "application/zip"],
                                 body: ByteBuffer(bytes: bytes)) { ($0.status, (try? JSONSerialization.jsonObject(with: Data(buffer: $0.body))) as? [String: Any] ?? [:]) }
    }

    @Test("a good archive unpacks into the directory; its files are the session's")
    func unpacks() async throws {
        let archive = try Self.zip("z.writestr('a.txt', 'alpha\\n')\nz.writestr('d/b.txt', 'beta\\n')\nz.writestr('e/', '')")
        try await TestService().live { client in
            let id = try await client.createSession()
            let (status, body) = try await upload(client, id, path: "in", archive)
            #expect(status == .ok, "\(body)")
            #expect(body["files"] as? Int == 2)
            let (_, seen) = try await client.exec(id, "cat in/a.txt in/d/b.txt; test -d in/e && echo dir; stat -c %U in/a.txt; ls -A")
            #expect(seen["stdout"] as? String == "alpha\nbeta\ndir\ncorral\nin\n", "\(seen)")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    @Test("zip-slip, absolute names, symlink entries and bombs are refused whole: 400, nothing unpacked, nothing on the host",
          arguments: [
            ("dot-dot", "z.writestr('ok.txt', 'x')\nz.writestr('../../../../tmp/corral-zip-slip-CANARY', 'pwned')"),
            ("nested dot-dot", "z.writestr('ok.txt', 'x')\nz.writestr('a/../../corral-zip-slip-CANARY', 'pwned')"),
            ("absolute", "z.writestr('ok.txt', 'x')\nz.writestr('/tmp/corral-zip-slip-CANARY', 'pwned')"),
            ("symlink", "z.writestr('ok.txt', 'x')\ni = zipfile.ZipInfo('link')\ni.external_attr = (0o120777 << 16)\nz.writestr(i, '/etc/passwd')"),
            ("bomb", "z.writestr('ok.txt', 'x')\nz.writestr('bomb', b'\\0' * (64 << 20))"),
          ])
    func refused(_ attack: (String, String)) async throws {
        let archive = try Self.zip(attack.1)
        let canary = "/tmp/corral-zip-slip-CANARY"
        try? FileManager.default.removeItem(atPath: canary)
        try await TestService().live { client in
            let id = try await client.createSession(["disk_mb": 32])
            let (status, body) = try await upload(client, id, path: "in", archive)
            #expect(status == .badRequest, "\(attack.0): \(status) \(body)")
            #expect(errorCode(body) == "invalid_request")
            let (_, seen) = try await client.exec(id, "ls -A /workspace /workspace/in 2>/dev/null; ls /tmp")
            #expect(!(seen["stdout"] as? String ?? "ok.txt").contains("ok.txt"), "nothing was unpacked: \(seen)")
            #expect(!(seen["stdout"] as? String ?? "").contains("corral-upload"), "the staged upload is gone: \(seen)")
            #expect(!FileManager.default.fileExists(atPath: canary), "nothing reached the host")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    @Test("an archive whose headers lie about its size stops at the session's disk, leaves nothing, and the session goes on")
    func lyingHeaders() async throws {
        // 40 MiB of zeros stored as one entry whose header claims 1 KiB: the count while inflating stops it.
        var patched = try Self.zip("z.writestr(zipfile.ZipInfo('big'), b'\\0' * (40 << 20), compress_type=zipfile.ZIP_STORED)")
        // Patch the central directory's uncompressed size of the one entry to 1024 (offset 24 in it).
        if let central = Self.find([0x50, 0x4b, 0x01, 0x02], in: patched) {
            for (i, b) in [UInt8(0x00), 0x04, 0x00, 0x00].enumerated() { patched[central + 24 + i] = b }
        }
        let archive = patched
        try await TestService().live { client in
            let id = try await client.createSession(["disk_mb": 32])
            let (status, body) = try await upload(client, id, path: "", archive)
            // Refused at staging (the workspace cannot hold it), while inflating (the count), or by the disk.
            #expect([.badRequest, .conflict, .contentTooLarge].contains(status), "\(status) \(body)")
            let (_, left) = try await client.exec(id, "du -sm /workspace | cut -f1")
            #expect(Int((left["stdout"] as? String ?? "99").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99 < 2,
                    "nothing of the upload is left in the workspace: \(left)")
            let (_, after) = try await client.exec(id, "echo alive")
            #expect(after["stdout"] as? String == "alive\n")
            _ = try await client.delete("/v1/sessions/\(id)")
        }
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for i in stride(from: bytes.count - needle.count, through: 0, by: -1) where Array(bytes[i..<(i + needle.count)]) == needle { return i }
        return nil
    }
}
