// The pool-advisor CLI with the PoolAdvisor tests' own tasks: the tests run its commands and use
// it as the worker executable of their process pools. `Checksum` is docs/cli.md's example.
import PoolAdvisorCLI
import PoolAdvisorTestTasks

PoolAdvisorCLI.main(tasks: testTasks + [Checksum.self])
