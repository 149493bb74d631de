// The `pool-advisor` command: the CLI over the reference workloads. A program with its own tasks
// gets the same commands by calling `PoolAdvisorCLI.main(tasks:)` in its own main.
import PoolAdvisorCLI

PoolAdvisorCLI.main(tasks: [])
