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
