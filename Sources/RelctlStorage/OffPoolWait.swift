import Dispatch
import RelctlCore

/// Runs async storage work (an S3 upload) to completion from synchronous code — the registry's
/// publish, which the CLI and the server's registry thread pool call — without a cooperative-pool
/// thread: the work runs on its own serial queue, so a caller that blocks a pool thread cannot
/// starve it (on two cores the pool has two threads).
public enum OffPoolWait {
    public static func run<T: Sendable>(
        _ work: @escaping @Sendable () async throws(RelctlError) -> T
    ) throws(RelctlError) -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        let executor = QueueExecutor()
        Task(executorPreference: executor) {
            do throws(RelctlError) {
                box.result = .success(try await work())
            } catch {
                box.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    private final class ResultBox<T>: @unchecked Sendable {
        var result: Result<T, RelctlError>?
    }

    private final class QueueExecutor: TaskExecutor, @unchecked Sendable {
        let queue = DispatchQueue(label: "relctl.off-pool-wait")

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }
    }
}
