import CorralEngine
import Foundation
import Hummingbird

/// JSON in and out of the routes.
enum JSONBody {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: mediaType], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let mediaType = "application/json"

    /// Whether a request body declared with `contentType` is read as JSON: `application/json`, with
    /// or without parameters (`; charset=utf-8`). A body with no `Content-Type`, or with curl's
    /// default for `-d` (`application/x-www-form-urlencoded`), is read as JSON too, so that
    /// `curl -d '{...}'` — the first command most users try — works; it is still parsed as JSON
    /// and refused with a 400 when it is not. Any other type (text, XML, multipart) is a 415.
    static func isJSON(contentType: String?) -> Bool {
        guard let contentType else { return true }
        let type = (contentType.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        return type == mediaType || type == curlDefaultMediaType
    }

    /// What `curl -d` declares unless told otherwise.
    static let curlDefaultMediaType = "application/x-www-form-urlencoded"

    /// Reads at most `limit` bytes of body (413 beyond) and decodes it, rejecting unknown fields.
    static func decode<T: KnownFields>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            // NIO's too-many-bytes error answers 413 with an empty body; the API's errors are JSON.
            throw APIError(.payloadTooLarge, "the request body exceeds \(limit) bytes; send less (the code itself is capped too, see GET /v1/limits)")
        }
        guard buffer.readableBytes > 0 else {
            throw APIError(.invalidRequest, "the request body is empty; send a JSON object")
        }
        do { return try RequestDecoding.decode(T.self, from: Data(buffer: buffer)) } catch {
            throw APIError(error)
        }
    }
}
