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
}
