import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The floor for "one task in flight": one thread handing a job to another through one
/// pthread mutex and two condition variables, and waiting for it to finish. Nothing a pool
/// does (allocating a future, a queue) can be cheaper than this hand-off.
// @unchecked: every var is read and written under `mutex` (a pthread mutex, as the baseline it measures).
final class MinimalHandoff: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let jobReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let jobDone = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending = false
    private var finished = false
    private var stopping = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(jobReady, nil)
        pthread_cond_init(jobDone, nil)
        Thread { [self] in serve() }.start()
    }

    private func serve() {
        pthread_mutex_lock(mutex)
        while true {
            while !pending && !stopping { pthread_cond_wait(jobReady, mutex) }
            if stopping { break }
            pending = false
            finished = true  // the empty job
            pthread_cond_signal(jobDone)
        }
        pthread_mutex_unlock(mutex)
    }

    /// One hand-off and its completion.
    func roundTrip() {
        pthread_mutex_lock(mutex)
        pending = true
        pthread_cond_signal(jobReady)
        while !finished { pthread_cond_wait(jobDone, mutex) }
        finished = false
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(jobReady)
        pthread_mutex_unlock(mutex)
    }
}

/// The textbook pool: N threads, one mutex, one condition variable, a FIFO array of closures
/// and a completion count. The baseline pool of `shared/reference` (0.17 µs/task there).
// @unchecked: every var is read and written under `mutex` (a pthread mutex, as the baseline it measures).
final class MinimalBatchPool: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let workReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let allDone = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [() -> Void] = []
    private var head = 0
    private var outstanding = 0
    private var stopping = false

    init(workers: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(workReady, nil)
        pthread_cond_init(allDone, nil)
        for _ in 0..<workers { Thread { [self] in serve() }.start() }
    }

    private func serve() {
        pthread_mutex_lock(mutex)
        while true {
            while head == queue.count && !stopping { pthread_cond_wait(workReady, mutex) }
            if head == queue.count { break }
            let job = queue[head]
            head += 1
            pthread_mutex_unlock(mutex)
            job()
            pthread_mutex_lock(mutex)
            outstanding -= 1
            if outstanding == 0 { pthread_cond_broadcast(allDone) }
        }
        pthread_mutex_unlock(mutex)
    }

    func submit(_ job: @escaping () -> Void) {
        pthread_mutex_lock(mutex)
        queue.append(job)
        outstanding += 1
        pthread_mutex_unlock(mutex)
        pthread_cond_signal(workReady)
    }

    func waitAll() {
        pthread_mutex_lock(mutex)
        while outstanding > 0 { pthread_cond_wait(allDone, mutex) }
        queue.removeAll(keepingCapacity: true)
        head = 0
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(workReady)
        pthread_mutex_unlock(mutex)
    }
}

/// Runs `body` on Swift's cooperative pool and blocks this (non-cooperative) thread for its
/// result: the benchmark's main thread is not part of the pool, so this cannot starve it.
func blockingOnCooperativePool<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let box = Mutex<T?>(nil)
    Task.detached {
        let value = await body()
        box.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return box.withLock { $0! }
}

/// Seconds for a TaskGroup to run `count` empty child tasks and collect them.
func taskGroupSeconds(count: Int) -> Double {
    blockingOnCooperativePool {
        let start = DispatchTime.now().uptimeNanoseconds
        await withTaskGroup(of: Int.self) { group in
            for index in 0..<count { group.addTask { index } }
            var sum = 0
            for await value in group { sum &+= value }
            precondition(sum == count * (count - 1) / 2)
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// Seconds for `DispatchQueue.global().async(group:)` to run `count` empty blocks.
func dispatchGlobalSeconds(count: Int) -> Double {
    let group = DispatchGroup()
    let queue = DispatchQueue.global()
    return secondsTaken {
        for _ in 0..<count { queue.async(group: group) {} }
        group.wait()
    }
}
