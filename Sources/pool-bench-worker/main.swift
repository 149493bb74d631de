// A worker for pool-bench that links no Foundation: the lean start-up path (see docs/process-pool.md).
import PoolBenchTasks
import PoolExecutors

WorkerEntry.runIfWorker(tasks: benchTasks)
print("pool-bench-worker: started by pool-bench's process pools, not by hand")
