// The same worker linked with FoundationEssentials, to measure what that library costs a start.
import FoundationEssentials
import PoolBenchTasks
import PoolExecutors

WorkerEntry.runIfWorker(tasks: benchTasks)
print("pool-bench-worker-essentials: started at \(Date()) by hand; pool-bench starts it as a worker")
