import Basics
import Foundation
import Testing
@testable import Batch

/// What the Grid Engine backend reads from Grid Engine's answers, as Grid Engine 8.1.9 gives them
/// (seen on the single-node cell of scripts/sge-test-cluster.sh).
@Suite struct GridEngineAnswers {
    @Test func qstatXMLGivesEveryTaskItsState() {
        let xml = """
            <?xml version='1.0'?>
            <job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
              <queue_info>
                <job_list state="running">
                  <JB_job_number>6</JB_job_number>
                  <JB_name>processCcd-r</JB_name>
                  <state>r</state>
                  <queue_name>test@vm</queue_name>
                  <tasks>1</tasks>
                </job_list>
                <job_list state="running">
                  <JB_job_number>6</JB_job_number>
                  <JB_name>processCcd-r</JB_name>
                  <state>dr</state>
                  <tasks>2</tasks>
                </job_list>
              </queue_info>
              <job_info>
                <job_list state="pending">
                  <JB_job_number>6</JB_job_number>
                  <state>qw</state>
                  <queue_name></queue_name>
                  <tasks>3-9:3,11</tasks>
                </job_list>
                <job_list state="pending">
                  <JB_job_number>7</JB_job_number>
                  <state>hqw</state>
                </job_list>
                <job_list state="pending">
                  <JB_job_number>8</JB_job_number>
                  <state>Eqw</state>
                  <tasks>1</tasks>
                </job_list>
              </job_info>
            </job_info>
            """
        let tasks = GridEngineBatch.queuedTasks(xml)
        #expect(tasks.keys.sorted() == ["6.1", "6.11", "6.2", "6.3", "6.6", "6.9", "7", "8.1"])
        #expect(tasks["6.1"] == BatchStatus(state: .running, rawState: "r"))
        #expect(tasks["6.2"]?.state == .running && tasks["6.2"]?.rawState == "dr")
        #expect(tasks["6.6"]?.state == .queued && tasks["7"]?.state == .queued)
        #expect(tasks["8.1"]?.state == .failed && tasks["8.1"]?.rawState == "Eqw")
        #expect(GridEngineBatch.queuedTasks("<?xml version='1.0'?>\n<job_info><queue_info></queue_info><job_info></job_info></job_info>").isEmpty)
    }

    @Test func qacctRecordsGiveStatesAccountingAndExhaustion() {
        let qacct = """
            ==============================================================
            qname        test
            hostname     vm
            jobname      processCcd-r
            jobnumber    6
            taskid       1
            failed       0
            exit_status  0
            ru_wallclock 1s
            cpu          0.831s
            maxvmem      78.398MB
            category     -q test -l h_rt=00:10:00,h_vmem=300M
            ==============================================================
            jobnumber    6
            taskid       2
            failed       0
            exit_status  1
            ru_wallclock 2s
            maxvmem      290.000MB
            category     -l h_vmem=300M
            ==============================================================
            jobnumber    5
            taskid       undefined
            failed       37  : qmaster enforced h_rt, h_cpu, or h_vmem limit
            exit_status  137                  (Killed)
            ru_wallclock 5s
            maxvmem      3.434MB
            category     -l h_rt=4
            ==============================================================
            jobnumber    9
            taskid       1
            failed       37  : qmaster enforced h_rt, h_cpu, or h_vmem limit
            exit_status  137                  (Killed)
            ru_wallclock 1s
            maxvmem      415.418MB
            category     -l h_rt=00:10:00,h_vmem=300M
            ==============================================================
            jobnumber    9
            taskid       2
            failed       100 : assumedly after job
            exit_status  137                  (Killed)
            ru_wallclock 11s
            maxvmem      3.352MB
            category     NONE
            ==============================================================
            jobnumber    9
            taskid       3
            failed       8   : in prolog
            exit_status  0
            category     NONE
            ==============================================================
            jobnumber    9
            taskid       4
            failed       26  : opening input/output file
            exit_status  0
            category     NONE
            """
        let states = GridEngineBatch.parseAccounting(qacct)
        #expect(states.keys.sorted() == ["5", "6.1", "6.2", "9.1", "9.2", "9.3", "9.4"])
        var done = BatchStatus(state: .done, rawState: "exit 0", exitCode: 0,
                               accounting: Accounting(node: "vm", elapsed: "1s", cpuTime: "0.831s", maxVMem: "78.398MB"))
        done.exhausted = nil
        #expect(states["6.1"] == done)
        // A payload that failed with its virtual memory at the limit: the allocation past h_vmem failed.
        #expect(states["6.2"]?.state == .failed && states["6.2"]?.exitCode == 1 && states["6.2"]?.exhausted == .memory)
        #expect(states["5"]?.exhausted == .time && states["5"]?.signal == 9 && states["5"]?.rawState.hasPrefix("failed 37") == true)
        #expect(states["9.1"]?.exhausted == .memory)
        #expect(states["9.2"]?.state == .failed && states["9.2"]?.exhausted == nil)
        #expect(states["9.3"]?.exhausted == .node)
        // The job's own output path could not be opened: its failure, not the host's.
        #expect(states["9.4"]?.state == .failed && states["9.4"]?.exhausted == nil)
    }

    @Test func directivesOfTheJobScriptBecomeQsubArguments() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-sge-\(UUID().uuidString).sh")
        defer { try? FileManager.default.removeItem(at: script) }
        try Data("""
            #!/bin/sh
            #$ -N processCcd-r-000001
            #$ -l h_rt=01:00:00
            #$ -l h_vmem=4G,s_vmem=3G
            #$ -j y
            #$ -o /logs/
            #$ -q long
            #$ -P P_lsst
            exec dcprod job run x.json

            """.utf8).write(to: script)
        #expect(try GridEngineBatch.directives(of: script.path, memory: nil, walltime: nil)
                == ["-l", "h_rt=01:00:00", "-l", "h_vmem=4G,s_vmem=3G", "-q", "long", "-P", "P_lsst"])
        // Learnt resources replace the script's.
        #expect(try GridEngineBatch.directives(of: script.path, memory: "8G", walltime: "02:00:00")
                == ["-l", "s_vmem=3G", "-q", "long", "-P", "P_lsst", "-l", "h_vmem=8G", "-l", "h_rt=02:00:00"])
    }

    @Test func sizesAndTimesInGridEngineUnits() {
        #expect(GridEngineBatch.bytes("300M") == 300 * 1024 * 1024)
        #expect(GridEngineBatch.bytes("3.5G") == 3.5 * 1024 * 1024 * 1024)
        #expect(GridEngineBatch.bytes("0.000B") == 0)
        #expect(BatchResources.duration("01:00:00") == 3600 && BatchResources.duration("11.5s") == 11.5 && BatchResources.duration("4") == 4)
        // Slurm's TotalCPU and Elapsed forms, which the accounting reads with the same parser.
        #expect(BatchResources.duration("01:30.500") == 90.5 && BatchResources.duration("1-00:00:10") == 86_410 && BatchResources.duration("x") == nil)
        #expect(GridEngineBatch.taskNumbers("1-7:2,10") == [1, 3, 5, 7, 10])
    }
}

/// How the array backends name many tasks in few arguments.
@Suite struct ArrayTaskRanges {
    @Test func tasksAreGroupedByArrayIntoRanges() {
        let slurm = JobArrays.taskRanges(of: ["12_0", "12_1", "12_2", "12_5", "13_7", "12_3", "14", "13_8"], separator: "_")
        #expect(slurm.map(\.array) == ["12", "13", "14"])
        #expect(slurm[0].ranges == ["0-3", "5"])
        #expect(slurm[1].ranges == ["7-8"])
        #expect(slurm[2].ranges.isEmpty)
        let sge = JobArrays.taskRanges(of: (1...1000).map { "77.\($0)" }.filter { $0 != "77.501" }, separator: ".")
        #expect(sge.count == 1 && sge[0].ranges == ["1-500", "502-1000"])
        #expect(JobArrays.arrayIds(of: ["12_0", "13_1", "12_9"], separator: "_") == ["12", "13"])
    }

    @Test func clusterLimitsAreReadFromEitherConfigurationListing() {
        let slurm = "MaxArraySize            = 1001\nMaxJobCount             = 50000\nMaxJobId                = 67043328\n"
        #expect(ClusterLimits.value("MaxArraySize", in: slurm) == 1001 && ClusterLimits.value("MaxJobCount", in: slurm) == 50000)
        let sge = "max_aj_instances             2000\nmax_aj_tasks                 75000\nmax_u_jobs                   0\n"
        #expect(ClusterLimits.value("max_aj_tasks", in: sge) == 75000 && ClusterLimits.value("max_u_jobs", in: sge) == 0)
        #expect(ClusterLimits.value("max_jobs", in: sge) == nil)
    }

    /// The room left is below the cluster's limit less every job in it, and below the user's limit
    /// less the user's own jobs, whichever is smaller; never negative.
    @Test func capacityIsWhatTheClusterAndTheUserHaveLeft() {
        let cluster = ClusterLimits.Values(maxArraySize: 1001, maxJobCount: 10000)
        #expect(cluster.room(all: 9000, mine: 10) == 1000, "other users' jobs count against MaxJobCount")
        #expect(cluster.room(all: 10500, mine: 0) == 0)
        let user = ClusterLimits.Values(maxArraySize: 1001, maxJobCount: 10000, maxUserJobs: 500)
        #expect(user.room(all: 9000, mine: 450) == 50)
        #expect(user.room(all: 9990, mine: 450) == 10)
        #expect(user.room(all: 600, mine: 600) == 0)

        // sacctmgr's MaxSubmit of each association: the smallest that is set.
        #expect(SlurmBatch.maxSubmitJobs("\n5000\n\n200\n") == 200)
        #expect(SlurmBatch.maxSubmitJobs("\n\n") == nil)

        // qstat -u '*' -xml: an array with running tasks and a pending range is one job.
        let xml = """
            <?xml version='1.0'?>
            <job_info>
              <queue_info>
                <job_list state="running"><JB_job_number>6</JB_job_number><JB_owner>lsstprod</JB_owner><state>r</state><tasks>1</tasks></job_list>
                <job_list state="running"><JB_job_number>6</JB_job_number><JB_owner>lsstprod</JB_owner><state>r</state><tasks>2</tasks></job_list>
              </queue_info>
              <job_info>
                <job_list state="pending"><JB_job_number>6</JB_job_number><JB_owner>lsstprod</JB_owner><state>qw</state><tasks>3-9:1</tasks></job_list>
                <job_list state="pending"><JB_job_number>7</JB_job_number><JB_owner>desc</JB_owner><state>hqw</state></job_list>
              </job_info>
            </job_info>
            """
        #expect(GridEngineBatch.jobOwners(xml) == ["6": "lsstprod", "7": "desc"])
    }

    @Test func qacctMaxvmemIsVirtualMemoryNotAResidentSet() {
        let qacct = """
            ==============================================================
            hostname     vm
            jobnumber    12
            taskid       1
            failed       0
            exit_status  0
            ru_wallclock 1s
            cpu          0.010s
            maxvmem      812.000M
            category     -l h_vmem=1G
            """
        let accounting = GridEngineBatch.parseAccounting(qacct)["12.1"]?.accounting
        #expect(accounting?.maxVMem == "812.000M" && accounting?.maxRSS == nil)
    }
}
