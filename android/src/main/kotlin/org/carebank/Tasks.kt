package org.carebank

import java.util.concurrent.atomic.AtomicBoolean
import org.carebank.ffi.CancellationToken
import org.carebank.ffi.CareStore
import org.carebank.ffi.MergeReport
import org.carebank.ffi.ProgressUpdate
import org.carebank.ffi.ProgressListener
import org.carebank.ffi.SyncReport

/**
 * A cancellation token the UI flips: pass it to a long call (merge, relay sync)
 * and call [cancel] from any thread, e.g. when the user leaves the screen.
 */
class CancellationFlag : CancellationToken {
    private val cancelled = AtomicBoolean(false)

    /** Asks the running operation to stop at its next step. */
    fun cancel() = cancelled.set(true)

    override fun isCancelled(): Boolean = cancelled.get()
}

/** A [ProgressListener] from a lambda (the generated interface is not a `fun interface`). */
fun progressListener(handler: (ProgressUpdate) -> Unit): ProgressListener =
    object : ProgressListener {
        override fun onProgress(progress: ProgressUpdate) = handler(progress)
    }

/**
 * Pulls everything [other] holds into this store, calling [onProgress] after each document and
 * stopping early if [cancel] is flipped (a [org.carebank.ffi.CareException.Cancelled] is thrown;
 * what was merged is kept). Blocking: call it from a background thread.
 */
fun CareStore.mergeFrom(
    other: CareStore,
    cancel: CancellationFlag? = null,
    onProgress: (ProgressUpdate) -> Unit,
): MergeReport = mergeFrom(other, progressListener(onProgress), cancel)

/**
 * Syncs with the relay at [url], calling [onProgress] after each round (stage `sync`: documents
 * converged of documents differing) and stopping between rounds if [cancel] is flipped. Throws
 * [org.carebank.ffi.CareException.Network] when the relay cannot be reached; what converged is
 * kept. Blocking: call it from a background thread.
 */
fun CareStore.syncWithRelay(
    url: String,
    cancel: CancellationFlag? = null,
    onProgress: (ProgressUpdate) -> Unit,
): SyncReport = syncWithRelay(url, progressListener(onProgress), cancel)
