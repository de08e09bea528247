import Foundation

/// A cancellation token the UI flips: pass it to a long call (merge, relay sync) and
/// call `cancel()` from any thread, e.g. when the user leaves the screen.
public final class CancellationFlag: CancellationToken, @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    /// Asks the running operation to stop at its next step.
    public func cancel() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
    }

    public func isCancelled() throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}

/// A `ProgressListener` from a closure.
public final class ClosureProgressListener: ProgressListener, @unchecked Sendable {
    private let handler: (ProgressUpdate) -> Void

    public init(_ handler: @escaping (ProgressUpdate) -> Void) {
        self.handler = handler
    }

    public func onProgress(progress: ProgressUpdate) throws {
        handler(progress)
    }
}

public extension CareStore {
    /// Pulls everything `other` holds into this store, calling `onProgress` after each document
    /// and stopping early if `cancel` is flipped (throws `CareError.Cancelled`; what was merged is
    /// kept). Blocking: call it off the main thread.
    @discardableResult
    func mergeFrom(
        _ other: CareStore,
        cancel: CancellationFlag? = nil,
        onProgress: @escaping (ProgressUpdate) -> Void
    ) throws -> MergeReport {
        try mergeFrom(other: other, listener: ClosureProgressListener(onProgress), cancel: cancel)
    }

    /// Syncs with the relay at `url`, calling `onProgress` after each round (stage `sync`:
    /// documents converged of documents differing) and stopping between rounds if `cancel` is
    /// flipped. Throws `CareError.Network` when the relay cannot be reached; what converged is
    /// kept. Blocking: call it off the main thread.
    @discardableResult
    func syncWithRelay(
        _ url: String,
        cancel: CancellationFlag? = nil,
        onProgress: @escaping (ProgressUpdate) -> Void
    ) throws -> SyncReport {
        try syncWithRelay(url: url, listener: ClosureProgressListener(onProgress), cancel: cancel)
    }
}
