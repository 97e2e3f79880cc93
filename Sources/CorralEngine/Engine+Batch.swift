import Synchronization

extension Engine {
    /// Many executions at once; each element is its result or the reason it was refused, in request order.
    ///
    /// Each child task stores its outcome in its own slot, by index, instead of returning an
    /// `(index, result)` pair. The pair form, `do { return (i, .success(try await execute(…))) }
    /// catch { return (i, .failure(error)) }`, is miscompiled by Swift 6.3.1 in release builds: the
    /// store of `i` into the child's result, hoisted above the `await`, is dropped on the success
    /// path, so the parent read an index the child never wrote (0 again, or garbage) and trapped on
    /// `results[i]` or on the unwrap of an empty slot. That was the batch route's "Illegal instruction".
    public func executeBatch(_ requests: [ExecuteRequest], context: ExecutionContext = ExecutionContext()) async -> [Result<ExecutionResponse, EngineError>] {
        if let refusal = batchRefusal(requests) { return requests.map { _ in .failure(refusal) } }
        let slots = BatchSlots(count: requests.count)
        await withTaskGroup(of: Void.self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    let outcome = await self.outcome(of: request, context: context)
                    slots.store(outcome, at: index)
                }
            }
        }
        return slots.results()
    }

    /// Why a batch cannot run as a whole, or nil. Its answer holds every item's output at once: the
    /// items together may ask for the output one request may (`max_output_size`, the default for
    /// an item without one), or for the default of each item when that is more. 64 items of 64 MiB
    /// each would be 4 GiB held, 24 GB as JSON.
    public func batchRefusal(_ requests: [ExecuteRequest]) -> EngineError? {
        let maximum = configuration.maximumLimits.outputBytes, fallback = configuration.defaultLimits.outputBytes
        let budget = max(maximum, requests.count.multipliedReportingOverflow(by: fallback).partialValue)
        var asked = 0
        for request in requests {
            asked += min(max(request.maxOutputSize ?? fallback, 0), maximum + 1)
            if asked > budget {
                return EngineError(.invalidRequest, "a batch's items together may ask for at most \(budget) bytes of output (max_output_size, \(fallback) for an item without one): these ask for more; split the batch or lower max_output_size",
                                   field: "max_output_size")
            }
        }
        return nil
    }

    /// `execute` as a value: its response, or the reason it refused the request.
    func outcome(of request: ExecuteRequest, context: ExecutionContext) async -> Result<ExecutionResponse, EngineError> {
        do throws(EngineError) {
            return .success(try await execute(request, context: context))
        } catch {
            return .failure(error)
        }
    }
}

/// One slot per batch item, filled by the item's child task.
final class BatchSlots: Sendable {
    private let slots: Mutex<[Result<ExecutionResponse, EngineError>?]>

    init(count: Int) {
        slots = Mutex(Array(repeating: nil, count: count))
    }

    func store(_ outcome: Result<ExecutionResponse, EngineError>, at index: Int) {
        slots.withLock { slots in
            if slots.indices.contains(index) { slots[index] = outcome }
        }
    }

    /// Every item's outcome, in order. An empty slot (its child ended without storing) is reported
    /// as an internal error of that item rather than trapping the whole service.
    func results() -> [Result<ExecutionResponse, EngineError>] {
        slots.withLock { slots in
            slots.enumerated().map { index, outcome in
                outcome ?? .failure(EngineError(.internalError, "batch item \(index) produced no result; retry it on its own"))
            }
        }
    }
}
