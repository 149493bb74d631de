public import Foundation
public import PoolExecutors

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway one-node Slurm cluster on 127.0.0.1 for the tests: `munged`, `slurmctld` and
/// `slurmd` in the foreground, with the munge key and socket, the config, state, spool and logs
/// in a temporary directory, on ports nothing else uses. The partition oversubscribes (eight
/// steps per core), so a pool's workers never queue behind each other.
///
/// Started once per test process, on first use; watchdog shells kill the daemons by pid when
/// the test process ends, and ``stop()`` does so at once.
public final class SlurmCluster: Sendable {
    public let directory: String
    /// The config `srun` must read (`SLURM_CONF`).
    public let configPath: String
    private let daemons: [(pid: Int32, watchdog: Int32)]

    /// The launcher that starts workers as Slurm job steps on this cluster.
    public func launcher(executable: String? = nil) -> WorkerLauncher {
        var launcher = WorkerLauncher.slurm(executable: executable)
        launcher.environment["SLURM_CONF"] = configPath
        return launcher
    }

    /// The cluster of this test process, started on first use; nil when Slurm or munge is not
    /// installed and ``TestEngines/required`` is off.
    public static func shared() throws -> SlurmCluster? {
        try sharedCluster.get()
    }

    private static let sharedCluster: Result<SlurmCluster?, any Error> = Result {
        let programs = [
            "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/srun", "/usr/bin/sinfo", "/usr/sbin/munged",
        ]
        guard programs.allSatisfy(TestEngines.installed) else {
            if TestEngines.required {
                throw TestEngines.Missing(
                    "Slurm or munge is not installed, and POOL_ADVISOR_TEST_ENGINES=require: apt-get install slurmctld slurmd slurm-client munge"
                )
            }
            return nil
        }
        return try SlurmCluster()
    }

    private init() throws {
        let directory = try TestEngines.makeDirectory(prefix: "pool-advisor-slurm")
        TestEngines.removeWhenDone(directory)
        self.directory = directory
        configPath = "\(directory)/slurm.conf"
        for folder in ["state", "spool"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(folder)", withIntermediateDirectories: true)
        }
        let key = (0..<1024).map { _ in UInt8.random(in: 0...255) }
        FileManager.default.createFile(
            atPath: "\(directory)/munge.key", contents: Data(key), attributes: [.posixPermissions: 0o400])
        var daemons: [(pid: Int32, watchdog: Int32)] = []
        do {
            daemons.append(
                try TestEngines.startWatched(
                    [
                        "/usr/sbin/munged", "--foreground", "--force", "--socket=\(directory)/munge.socket",
                        "--key-file=\(directory)/munge.key", "--log-file=\(directory)/munged.log",
                        "--pid-file=\(directory)/munged.pid", "--seed-file=\(directory)/munged.seed",
                    ], in: directory, name: "munged"))
            let controller = try TestEngines.freeLoopbackPort()
            var node = try TestEngines.freeLoopbackPort()
            while node == controller { node = try TestEngines.freeLoopbackPort() }
            let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
            let config = """
                ClusterName=pooladvisortest
                SlurmctldHost=localhost(127.0.0.1)
                SlurmctldPort=\(controller)
                SlurmdPort=\(node)
                SlurmUser=root
                SlurmdUser=root
                AuthType=auth/munge
                AuthInfo=socket=\(directory)/munge.socket
                CryptoType=crypto/munge
                StateSaveLocation=\(directory)/state
                SlurmdSpoolDir=\(directory)/spool
                SlurmctldPidFile=\(directory)/slurmctld.pid
                SlurmdPidFile=\(directory)/slurmd.pid
                SlurmctldLogFile=\(directory)/slurmctld.log
                SlurmdLogFile=\(directory)/slurmd.log
                ProctrackType=proctrack/linuxproc
                TaskPlugin=task/none
                JobAcctGatherType=jobacct_gather/none
                AccountingStorageType=accounting_storage/none
                SchedulerType=sched/builtin
                SelectType=select/cons_tres
                SelectTypeParameters=CR_Core
                MpiDefault=none
                ReturnToService=2
                CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
                NodeName=localhost NodeAddr=127.0.0.1 CPUs=\(cores) State=UNKNOWN
                PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8

                """
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
            let environment = ["SLURM_CONF": configPath]
            daemons.append(
                try TestEngines.startWatched(
                    ["/usr/sbin/slurmctld", "-D", "-f", configPath], in: directory, name: "slurmctld",
                    environment: environment))
            daemons.append(
                try TestEngines.startWatched(
                    ["/usr/sbin/slurmd", "-D", "-N", "localhost", "-f", configPath], in: directory, name: "slurmd",
                    environment: environment))
            // Ready once the node is idle and a step runs.
            var ready = false
            for _ in 0..<900 {  // 90 s
                let state = try? TestEngines.run(
                    "/usr/bin/sinfo", ["-h", "-o", "%T"],
                    environment: ProcessInfo.processInfo.environment.merging(
                        environment, uniquingKeysWith: { $1 }))
                if state?.trimmingCharacters(in: .whitespacesAndNewlines) == "idle" {
                    ready = true
                    break
                }
                usleep(100_000)
            }
            guard ready else {
                let log = (try? String(contentsOfFile: "\(directory)/slurmctld.out", encoding: .utf8)) ?? ""
                throw TestEngines.Missing("the test Slurm node did not become idle within 90 s: \(log.suffix(2000))")
            }
        } catch {
            for daemon in daemons.reversed() { TestEngines.stop(daemon) }
            throw error
        }
        self.daemons = daemons
    }

    /// Kills the daemons and their watchdogs by pid.
    public func stop() {
        for daemon in daemons.reversed() { TestEngines.stop(daemon) }
    }
}
