import Hummingbird

/// Server-Sent Events: `id:`, `event:` and `data:` lines, a blank line after each event.
enum EventStream {
    static func frame(id: Int?, event: String, data: String) -> String {
        var text = ""
        if let id { text += "id: \(id)\n" }
        text += "event: \(event)\n"
        // A line break inside data would end the field: each line is its own `data:` (JSON has none).
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { text += "data: \(line)\n" }
        return text + "\n"
    }

    /// A response that writes each frame as it comes, then ends; what it wrote is counted off
    /// `backlog` (what the producer queued for this client).
    static func response<S: AsyncSequence & Sendable>(_ frames: S, backlog: Backlog? = nil) -> Response where S.Element == String {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let body = ResponseBody { writer in
            for try await frame in frames {
                try await writer.write(ByteBuffer(string: frame))
                backlog?.written(frame.utf8.count)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
