import Testing
@testable import Batch

/// What the Slurm backend reads from Slurm's machine formats, on answers as Slurm 22.05 gives them
/// (seen on the single-node cluster of scripts/slurm-test-cluster.sh).
@Suite struct SlurmAnswers {
    @Test func accountingLinesMapOntoDcprodStates() {
        let sacct = """
            12|COMPLETED|0:0|vm|00:00:03|00:02.514|
            12.batch|COMPLETED|0:0|vm|00:00:03|00:02.514|51200K
            12.extern|COMPLETED|0:0|vm|00:00:03|00:00:00|812K
            13|FAILED|1:0
            13.batch|FAILED|1:0
            14|FAILED|0:9
            14.batch|CANCELLED by 0|0:9
            15|OUT_OF_MEMORY|0:125
            16|TIMEOUT|0:0
            17|CANCELLED by 0|0:15
            18|NODE_FAIL|0:0
            19_[0-999%50]|PENDING|0:0
            """
        let states = SlurmBatch.parseAccounting(sacct)
        #expect(states.keys.sorted() == ["12", "13", "14", "15", "16", "17", "18"])
        #expect(states["12"] == BatchStatus(state: .done, rawState: "COMPLETED", exitCode: 0,
                                            accounting: Accounting(node: "vm", elapsed: "00:00:03", cpuTime: "00:02.514", maxRSS: "51200K")))
        #expect(states["13"]?.state == .failed && states["13"]?.exitCode == 1)
        #expect(states["14"]?.state == .failed && states["14"]?.exitCode == 0 && states["14"]?.signal == 9)
        #expect(states["15"]?.state == .failed && states["15"]?.rawState == "OUT_OF_MEMORY")
        #expect(states["16"]?.state == .failed)
        #expect(states["17"]?.state == .cancelled && states["17"]?.rawState == "CANCELLED by 0" && states["17"]?.signal == 15)
        #expect(states["18"]?.state == .failed && states["18"]?.rawState == "NODE_FAIL")
    }

    @Test func queueStatesAreQueuedOrRunning() {
        for raw in ["PENDING", "CONFIGURING", "REQUEUED", "SUSPENDED"] {
            #expect(SlurmBatch.status(state: raw, exitCode: nil).state == .queued, "\(raw)")
        }
        for raw in ["RUNNING", "COMPLETING"] {
            #expect(SlurmBatch.status(state: raw, exitCode: nil).state == .running, "\(raw)")
        }
    }

    @Test func aFailingCommandIsOneLineNamingIt() {
        do {
            _ = try Command.run("ls", ["/nonexistent-dcprod-directory"])
            Issue.record("ls of a missing directory succeeded")
        } catch let error as BatchError {
            #expect(error.command == "ls /nonexistent-dcprod-directory")
            #expect(error.message.contains("No such file or directory"))
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: Never.self) { _ = try Command.run("ls", ["/nonexistent-dcprod-directory"], acceptingFailure: { $0.contains("No such") }) }
    }
}

@Suite struct ResourceLearning {
    @Test func memoryAndWalltimeAreDoubled() {
        #expect(Submitter.doubled("300M") == "600M")
        #expect(Submitter.doubled("4G") == "8G")
        #expect(Submitter.doubled("1.5G") == "3G")
        #expect(Submitter.doubled("04:00:00") == "08:00:00")
        #expect(Submitter.doubled("16:30:00") == "1-09:00:00")
        #expect(Submitter.doubled("1-12:00:00") == "3-00:00:00")
    }

    @Test func slurmSaysWhatRanOut() {
        let sacct = """
            21|OUT_OF_MEMORY|0:125|vm|00:00:02|00:01.000||300M
            22|FAILED|0:9|vm|00:00:02|00:01.000||300M
            22.batch|CANCELLED by 0|0:9|vm|00:00:02|00:01.000|412000K|
            23|FAILED|0:9|vm|00:00:02|00:01.000||300M
            23.batch|CANCELLED by 0|0:9|vm|00:00:02|00:01.000|20000K|
            24|TIMEOUT|0:0|vm|00:10:00|00:09.000||300M
            25|NODE_FAIL|0:0|vm|00:00:01|00:00.000||300M
            26|FAILED|1:0|vm|00:00:01|00:00.000||300M
            """
        let states = SlurmBatch.parseAccounting(sacct)
        #expect(states["21"]?.exhausted == .memory)
        #expect(states["22"]?.exhausted == .memory, "killed by signal 9 at its memory: OverMemoryKill")
        #expect(states["23"]?.exhausted == nil, "killed by signal 9 far below its memory: not for memory")
        #expect(states["24"]?.exhausted == .time)
        #expect(states["25"]?.exhausted == .node)
        #expect(states["26"]?.exhausted == nil)
    }

    /// ReqMem `c` is per CPU and `n` per node (sacct before 21.08); without either it is the job's whole
    /// request (21.08 on). A 4-CPU job of `--mem-per-cpu=100M` may use 400M before OverMemoryKill.
    @Test func memoryPerCPUIsTimesTheJobsCPUs() {
        let mebibyte: Double = 1024 * 1024
        #expect(SlurmBatch.memoryPerJob("4000Mc", cpus: 4, nodes: 1) == 4 * 4000 * mebibyte)
        #expect(SlurmBatch.memoryPerJob("4Gn", cpus: 8, nodes: 2) == 2 * 4 * 1024 * mebibyte)
        #expect(SlurmBatch.memoryPerJob("1.50Gn", cpus: 1, nodes: 1) == 1.5 * 1024 * mebibyte)
        #expect(SlurmBatch.memoryPerJob("400M", cpus: 4, nodes: 1) == 400 * mebibyte)
        #expect(SlurmBatch.memoryPerJob("4000Mc", cpus: nil, nodes: 1) == nil, "per CPU without the CPUs")
        #expect(SlurmBatch.memoryPerJob("0n", cpus: 1, nodes: 1) == nil, "no request")
        #expect(SlurmBatch.memoryPerJob("", cpus: 1, nodes: 1) == nil)

        let sacct = """
            31|FAILED|0:9|vm|00:00:02|00:01.000||100Mc|4|1
            31.batch|CANCELLED by 0|0:9|vm|00:00:02|00:01.000|200000K||4|1
            32|FAILED|0:9|vm|00:00:02|00:01.000||100Mc|4|1
            32.batch|CANCELLED by 0|0:9|vm|00:00:02|00:01.000|400000K||4|1
            33|FAILED|0:9|vm|00:00:02|00:01.000||400M|4|1
            33.batch|CANCELLED by 0|0:9|vm|00:00:02|00:01.000|400000K||4|1
            34|FAILED|0:9|vm|00:00:02|00:01.000||1Gn|4|2
            34.batch|CANCELLED by 0|0:9|vm|00:00:02|00:01.000|1000000K||4|2
            """
        let states = SlurmBatch.parseAccounting(sacct)
        #expect(states["31"]?.exhausted == nil, "200 MB of 4 × 100 MB is not the limit")
        #expect(states["32"]?.exhausted == .memory)
        #expect(states["33"]?.exhausted == .memory)
        #expect(states["34"]?.exhausted == .memory, "1 GB per node, whatever the number of nodes")
    }
}

/// MAXRUNNING shared among the arrays of one submission: never more tasks running at once than it.
@Suite struct ArrayThrottles {
    func arrays(_ count: Int) -> JobArrays {
        let jobs = (0..<count).map { index in
            BatchJob(name: "processCcd-r-\(index)", script: "/p/steps/processCcd/r\(index)/jobs/processCcd-r-\(index).slurm.sh",
                     attempt: 1, token: "t\(index)", output: "/p/logs/\(index).out")
        }
        return JobArrays(jobs, maxArraySize: 1000)
    }

    /// The most tasks running at once: the sum of the limits of the arrays that may run together
    /// (those that wait for none, then each lane one at a time).
    func mostRunning(_ shares: [JobArrays.Share]) -> Int {
        shares.filter { $0.after == nil }.map(\.limit).reduce(0, +)
    }

    @Test func theSharesNeverAddUpToMoreThanMaxRunning() {
        for throttle in [1, 2, 3, 7, 50] {
            for count in [1, 2, 3, 5, 8, 60] {
                let shares = arrays(count).shares(of: throttle)
                #expect(shares.count == count)
                #expect(mostRunning(shares) <= throttle, "\(count) arrays, MAXRUNNING \(throttle)")
                #expect(shares.allSatisfy { $0.limit >= 1 })
                // Each array that waits, waits for an earlier one, and one lane holds one array at a time.
                for (index, share) in shares.enumerated() {
                    if let after = share.after { #expect(after < index && shares[after].limit == 1) }
                }
                if count <= throttle {
                    #expect(mostRunning(shares) == throttle, "all of MAXRUNNING is used")
                } else {
                    #expect(shares.filter { $0.after == nil }.count == throttle)
                }
            }
        }
        #expect(arrays(3).shares(of: 7).map(\.limit) == [3, 2, 2])
        #expect(arrays(5).shares(of: 2) == [.init(limit: 1), .init(limit: 1), .init(limit: 1, after: 0),
                                             .init(limit: 1, after: 1), .init(limit: 1, after: 2)])
    }
}
