import Foundation
import Synchronization
import Testing
@testable import Batch
@testable import Production

/// The Submitter's decisions on a scripted batch system: adoption after a kill, a refusal that keeps
/// what was accepted, a controller that does not answer, the accounting grace, the requeue caps and
/// MAXRUNNING — the crash-safety core, without a cluster.
@Suite struct SubmitterOnAScriptedBatchSystem {
    func submitter(_ production: ScriptedProduction, _ batch: ScriptedBatch, limit: Int = 100) -> Submitter {
        var submitter = Submitter(production: production.production, backend: batch, limit: limit)
        submitter.interval = 0.01
        submitter.maximumInterval = 0.01
        return submitter
    }

    @Test func aKilledSubmissionIsAdoptedFinishedOrForgottenNeverRepeated() throws {
        let production = try ScriptedProduction(jobs: 3)
        let batch = ScriptedBatch()
        // A manager killed between recording its intents and recording the ids the batch system gave.
        let jobs = try production.store.unsubmittedJobs(step: .processCcd, filters: [.r], limit: 10)
        let intents = try production.store.recordIntents(for: jobs, backend: batch.name) { job, number, _ in
            AttemptIntent(token: "token-\(job.name)", outcomes: production.root.appendingPathComponent("\(job.name).a\(number).jsonl").path,
                          log: "/dev/null", memory: nil, walltime: nil)
        }
        batch.adopt(token: intents[0].token, as: "7")          // still in the batch system
        try production.writeOutcome(of: intents[1], completed: true)  // ran and ended since

        let summary = try submitter(production, batch).refresh()
        #expect(summary.adopted == 2)
        let attempts = try production.attempts()
        #expect(attempts.map(\.state) == [.running, .done])
        #expect(attempts[0].backendId == "7")
        #expect(try production.store.unsubmittedJobCount(step: .processCcd, filters: [.r]) == 1)

        // The next submit hands over only the job whose intent was forgotten.
        let again = try submitter(production, batch).submit(step: .processCcd, filters: [.r], wait: false)
        #expect(again.submitted == 1)
        #expect(batch.submitCalls.count == 1 && batch.submitted.map(\.name) == [jobs[2].name])
    }

    /// `run --by-patch`: a lead and its follower are one batch job (the bundle script, one token,
    /// one backend id, counted once against MAXRUNNING); a follower never runs beside its lead, and
    /// one that the batch system ended for want of memory after its lead was done goes on its own.
    @Test func aBundleIsOneBatchJobAndItsFollowerNeverRunsBesideItsLead() throws {
        let production = try ScriptedProduction(jobs: 2, extraConfig: "MEMORY coadd 4G", bundled: true)
        let batch = ScriptedBatch()
        let first = try submitter(production, batch, limit: 1).submit(step: .processCcd, filters: [.r], wait: false)
        #expect(first.submitted == 1 && first.pending == 1)
        #expect(batch.submitted.map { URL(fileURLWithPath: $0.script).lastPathComponent } == ["processCcd-r-000001.bundle.scripted.sh"])
        let attempts = try production.attempts()
        #expect(attempts.count == 2 && attempts[1].backendId == attempts[0].backendId && attempts[1].token == attempts[0].token + "+coadd-r-000001")
        #expect(try production.store.activeAttemptCount() == 1)
        #expect(try production.store.unsubmittedJobCount(step: .coadd, filters: [.r]) == 0, "the followers go with their leads")

        // The lead's part ran; the batch job was then killed over its memory, in the coadd.
        try production.writeOutcome(of: attempts[0], completed: true)
        var outOfMemory = BatchStatus(state: .failed, rawState: "OUT_OF_MEMORY", exitCode: 0, signal: 9)
        outOfMemory.exhausted = .memory
        batch.setAll(outOfMemory)
        try submitter(production, batch, limit: 1).refresh()
        #expect(try production.attempts().map(\.state) == [.done, .requeued])
        let again = try submitter(production, batch, limit: 1).submit(step: .coadd, filters: [.r], wait: false)
        #expect(again.submitted == 1)
        #expect(batch.submitted.last.map { URL(fileURLWithPath: $0.script).lastPathComponent } == "coadd-r-000001.scripted.sh")
        #expect(batch.submitted.last?.memory == "8G")
        #expect(try production.store.unsubmittedJobCount(step: .processCcd, filters: [.r]) == 1)
    }

    @Test func aRefusalAfterSomeJobsKeepsTheAcceptedOnesAndForgetsTheRest() throws {
        let production = try ScriptedProduction(jobs: 5)
        let batch = ScriptedBatch(throttles: true)
        batch.acceptBeforeRefusing = 2
        #expect(throws: BatchError.self) { try submitter(production, batch).submit(step: .processCcd, filters: [.r], wait: false) }
        let attempts = try production.attempts()
        #expect(attempts.map(\.state) == [.queued, .queued])
        #expect(attempts.allSatisfy { $0.backendId != nil })
        #expect(try production.store.unsubmittedJobCount(step: .processCcd, filters: [.r]) == 3)

        batch.acceptBeforeRefusing = nil
        let summary = try submitter(production, batch).submit(step: .processCcd, filters: [.r], wait: false)
        #expect(summary.submitted == 3)
        #expect(Set(batch.submitted.map(\.name)).count == 5, "no job handed over twice")
    }

    @Test func aControllerThatDoesNotAnswerChangesNothing() throws {
        let production = try ScriptedProduction(jobs: 2)
        let batch = ScriptedBatch()
        _ = try submitter(production, batch).submit(step: .processCcd, filters: [.r], wait: false)
        let before = try production.attempts()
        batch.unreachable = true
        #expect(throws: BatchError.self) { try submitter(production, batch).refresh() }
        #expect(try production.attempts() == before)
    }

    @Test func anEndedJobIsFollowedForItsAccountingThenRecordedWithout() throws {
        let production = try ScriptedProduction(jobs: 1)
        let batch = ScriptedBatch()
        var submitter = submitter(production, batch)
        submitter.accountingGrace = 1.5
        _ = try submitter.submit(step: .processCcd, filters: [.r], wait: false)
        let attempt = try #require(try production.attempts().first)
        try production.writeOutcome(of: attempt, completed: true)
        batch.set(attempt.backendId!, .awaitingAccounting(after: "COMPLETED"))

        try submitter.refresh()
        let waiting = try #require(try production.attempts().first)
        #expect(waiting.state == .running && waiting.endedAt != nil && waiting.rawState == "COMPLETED (awaiting accounting)")
        try submitter.refresh()
        #expect(try production.attempts().first == waiting, "nothing changes within the grace")

        Thread.sleep(forTimeInterval: 2.6)   // ISO 8601 times are to the second
        let summary = try submitter.refresh()
        #expect(summary.finished == 1 && summary.failed == 0)
        let ended = try #require(try production.attempts().first)
        #expect(ended.state == .done && ended.node == nil)
    }

    @Test func memoryExhaustedJobsAreSubmittedAgainWithTwiceTheMemoryAtMostTwice() throws {
        let production = try ScriptedProduction(jobs: 1, extraConfig: "MEMORY processCcd 4G")
        let batch = ScriptedBatch()
        let submitter = submitter(production, batch)
        var outOfMemory = BatchStatus(state: .failed, rawState: "OUT_OF_MEMORY", exitCode: 0, signal: 9)
        outOfMemory.exhausted = .memory
        var summaries: [Submitter.Summary] = []
        for _ in 0..<4 {
            summaries.append(try submitter.submit(step: .processCcd, filters: [.r], wait: false))
            batch.setAll(outOfMemory)
        }
        summaries.append(try submitter.refresh())
        #expect(batch.submitted.map(\.memory) == [nil, "8G", "16G"])
        #expect(try production.attempts().map(\.state) == [.requeued, .requeued, .failed])
        #expect(try production.attempts().map(\.exhausted) == [.memory, .memory, nil])
        #expect(summaries.map(\.requeued).reduce(0, +) == 2)
        #expect(try production.store.requeuedAttemptCounts(step: .processCcd, filter: .r) == [.memory: 2])
    }

    @Test func maxRunningBoundsWhatIsHandedOverAndTheRestFollowsAsJobsEnd() throws {
        let production = try ScriptedProduction(jobs: 5)
        let batch = ScriptedBatch()
        let first = try submitter(production, batch, limit: 2).submit(step: .processCcd, filters: [.r], wait: false)
        #expect(first.submitted == 2 && first.pending == 3 && first.running == 2)
        #expect(batch.submitCalls.map(\.count) == [2])

        for attempt in try production.attempts() { try production.writeOutcome(of: attempt, completed: true) }
        batch.setAll(BatchStatus(state: .done, rawState: "COMPLETED", exitCode: 0))
        let second = try submitter(production, batch, limit: 2).submit(step: .processCcd, filters: [.r], wait: false)
        #expect(second.finished == 2 && second.submitted == 2)

        // A batch system that throttles itself gets every job it has room for at once.
        let throttled = try ScriptedProduction(jobs: 5)
        let arrays = ScriptedBatch(throttles: true, capacity: 4)
        let all = try submitter(throttled, arrays, limit: 2).submit(step: .processCcd, filters: [.r], wait: false)
        #expect(all.submitted == 4 && all.pending == 1)
        #expect(arrays.calls.contains(.submit(tokens: arrays.submitted.map(\.token), throttle: 2, hold: false)))
    }

    /// What `dcprod status` opens while a submission waits on a slow batch call: the production
    /// read-only. It reads the attempts being submitted, and it cannot reconcile them (forget the
    /// intents the batch system does not know yet): its store refuses to be written. The submission
    /// then hands every job over once.
    @Test func aReaderDuringASlowSubmissionCannotForgetItsIntents() throws {
        let production = try ScriptedProduction(jobs: 3)
        let batch = ScriptedBatch()
        batch.submitDelay = 1.5
        // Used by the one thread below alone, while this one only reads the store through its own connection.
        nonisolated(unsafe) let writer = submitter(production, batch)
        let submitted = Mutex<Submitter.Summary?>(nil)
        let thread = Thread { submitted.withLock { $0 = try? writer.submit(step: .processCcd, filters: [.r], wait: false) } }
        thread.start()
        Thread.sleep(forTimeInterval: 0.5)
        let reader = try Production.open(root: production.production.tree.root, access: .read)
        #expect(try reader.store.attempts().map(\.state) == [.submitting, .submitting, .submitting])
        #expect(throws: (any Error).self) { try Submitter(production: reader, backend: batch, limit: 100).refresh() }
        #expect(try reader.store.attempts().count == 3, "the intents are still there")
        while submitted.withLock({ $0 == nil }) { Thread.sleep(forTimeInterval: 0.05) }
        #expect(submitted.withLock { $0?.submitted } == 3)
        #expect(batch.submitCalls.map(\.count) == [3], "each job handed over once")
        #expect(try production.production.store.attempts().map(\.state).allSatisfy { $0 == .running || $0 == .queued })
    }

    @Test func waitFollowsEveryJobToItsEnd() throws {
        let production = try ScriptedProduction(jobs: 3)
        let batch = ScriptedBatch()
        let submitter = submitter(production, batch, limit: 1)
        var polls = 0
        let summary = try submitter.submit(step: .processCcd, filters: [.r], wait: true) { _ in
            polls += 1
            for attempt in (try? production.attempts()) ?? [] where attempt.state.isFollowed {
                try? production.writeOutcome(of: attempt, completed: true)
                batch.set(attempt.backendId!, nil)   // gone from the queue; its outcome file says it ran
            }
        }
        #expect(summary.submitted == 3 && summary.finished == 3 && summary.failed == 0 && summary.pending == 0)
        #expect(try production.attempts().map(\.state) == [.done, .done, .done])
        #expect(try production.attempts().map(\.rawState) == ["gone", "gone", "gone"])
        #expect(polls >= 3)
    }

    @Test func cancelAndReleaseConcernTheStepsFollowedJobs() throws {
        let production = try ScriptedProduction(jobs: 2)
        let batch = ScriptedBatch()
        var held = submitter(production, batch)
        held.hold = true
        _ = try held.submit(step: .processCcd, filters: [.r], wait: false)
        #expect(batch.calls.first == .submit(tokens: batch.submitted.map(\.token), throttle: 100, hold: true))
        #expect(try held.release(step: .processCcd, filters: [.r]) == 2)
        #expect(try held.cancel(step: .processCcd, filters: [.r]) == 2)
        #expect(try production.attempts().map(\.state) == [.cancelled, .cancelled])
        #expect(try held.cancel(step: .processCcd, filters: [.r]) == 0)
    }
}

/// `Submitter.decide` and its companions are pure: (attempt, status, time) → change.
@Suite struct SubmitterDecisions {
    let attempt = AttemptRecord(id: 1, jobId: 1, number: 1, backend: "slurm", token: "t", backendId: "12_3", state: .queued,
                                rawState: "PENDING", host: nil, submittedAt: nil, startedAt: nil, endedAt: nil, exitCode: nil,
                                signal: nil, outcomes: "/nonexistent", log: "/dev/null", verified: false, node: nil, elapsed: nil,
                                cpuTime: nil, maxRSS: nil, memory: nil, walltime: nil, exhausted: nil)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func decide(_ attempt: AttemptRecord, _ status: BatchStatus?, ran: OutcomeEnd = .died,
                requeues: [Exhaustion: Int] = [:], at now: Date? = nil) -> AttemptTransition? {
        Submitter.decide(attempt, status: status, runner: ran, requeues: requeues, now: now ?? self.now, grace: 120)
    }

    @Test func aJobStillInTheQueueChangesOnlyWhenItsStateDoes() {
        #expect(decide(attempt, BatchStatus(state: .queued, rawState: "PENDING")) == nil)
        #expect(decide(attempt, BatchStatus(state: .running, rawState: "RUNNING")) == .progressed(.running, rawState: "RUNNING"))
        #expect(decide(attempt, BatchStatus(state: .queued, rawState: "PENDING (held)")) == .progressed(.queued, rawState: "PENDING (held)"))
    }

    @Test func anEndedJobIsDoneOnlyWhenItsRunnerWroteItsEndLine() {
        let completed = OutcomeEnd(completed: true, exit: 0)
        #expect(decide(attempt, BatchStatus(state: .done, rawState: "COMPLETED", exitCode: 0), ran: completed)
            == .ended(AttemptEnd(state: .done, rawState: "COMPLETED", exitCode: 0)))
        #expect(decide(attempt, BatchStatus(state: .done, rawState: "COMPLETED", exitCode: 0), ran: .died)
            == .ended(AttemptEnd(state: .failed, rawState: "COMPLETED", exitCode: 0)))
        #expect(decide(attempt, nil, ran: OutcomeEnd(completed: true, exit: 1)) == .ended(AttemptEnd(state: .done, rawState: "gone", exitCode: 1)))
        #expect(decide(attempt, BatchStatus(state: .cancelled, rawState: "CANCELLED"), ran: completed)
            == .ended(AttemptEnd(state: .cancelled, rawState: "CANCELLED", exitCode: 0)))
    }

    @Test func theAccountingGraceRunsFromWhenTheEndWasFirstSeen() {
        let awaiting = BatchStatus.awaitingAccounting(after: "COMPLETED")
        #expect(decide(attempt, awaiting) == .awaitingAccounting(rawState: "COMPLETED (awaiting accounting)"))
        var seen = attempt
        seen.state = .running
        seen.rawState = awaiting.rawState
        seen.endedAt = StateStore.now()
        let since = seen.endDate!
        #expect(decide(seen, awaiting, at: since.addingTimeInterval(119)) == nil)
        #expect(decide(seen, awaiting, ran: OutcomeEnd(completed: true, exit: 0), at: since.addingTimeInterval(121))
            == .ended(AttemptEnd(state: .done, rawState: "COMPLETED (awaiting accounting)", exitCode: 0)))
    }

    @Test func eachReasonIsRequeuedUpToItsCap() {
        for reason in Exhaustion.allCases {
            var status = BatchStatus(state: .failed, rawState: "X", exitCode: 1)
            status.exhausted = reason
            let below = decide(attempt, status, requeues: [reason: reason.maximumRequeues - 1])
            let atCap = decide(attempt, status, requeues: [reason: reason.maximumRequeues])
            #expect(below == .ended(AttemptEnd(state: .requeued, rawState: "X", exitCode: 1, exhausted: reason)))
            #expect(atCap == .ended(AttemptEnd(state: .failed, rawState: "X", exitCode: 1)))
            // A runner that completed all its events is done, whatever the batch system says of resources.
            #expect(decide(attempt, status, ran: OutcomeEnd(completed: true, exit: 0)) == .ended(AttemptEnd(state: .done, rawState: "X", exitCode: 1)))
        }
        #expect(Exhaustion.memory.maximumRequeues == 2 && Exhaustion.time.maximumRequeues == 2 && Exhaustion.node.maximumRequeues == 3)
    }

    @Test func adoptionFindsRunningJobsAndFinishedOnes() {
        var intent = attempt
        intent.state = .submitting
        intent.backendId = nil
        #expect(Submitter.adoption(of: intent, found: "42", runner: nil) == .adopted(backendId: "42"))
        #expect(Submitter.adoption(of: intent, found: nil, runner: OutcomeEnd(completed: true, exit: 0)) == .ended(AttemptEnd(state: .done, exitCode: 0)))
        #expect(Submitter.adoption(of: intent, found: nil, runner: .died) == .ended(AttemptEnd(state: .failed)))
        #expect(Submitter.adoption(of: intent, found: nil, runner: nil) == .forgotten)
    }

    @Test func aSubmissionRecordsTheAcceptedAndForgetsTheRestOnlyWhenRefused() {
        var second = attempt
        second.id = 2
        second.token = "u"
        let accepted = Submitter.submission(of: [attempt, second], accepted: ["t": "9"], refused: true, host: "h")
        #expect(accepted.map(\.attemptId) == [1, 2])
        #expect(accepted.map(\.transition) == [.submitted(backendId: "9", host: "h"), .forgotten])
        #expect(Submitter.submission(of: [attempt, second], accepted: ["t": "9"], refused: false, host: "h").count == 1)
    }

    @Test func roomAndLearntResources() {
        #expect(Submitter.room(running: 3, limit: 5, capacity: nil) == 2)
        #expect(Submitter.room(running: 7, limit: 5, capacity: nil) == 0)
        #expect(Submitter.room(running: 3, limit: 5, capacity: 1000) == 1000)
        var previous = attempt
        #expect(Submitter.resources(after: nil, memory: "4G", walltime: "04:00:00") == (nil, nil))
        previous.exhausted = .memory
        #expect(Submitter.resources(after: previous, memory: "4G", walltime: "04:00:00") == ("8G", nil))
        previous.memory = "8G"
        previous.exhausted = .time
        #expect(Submitter.resources(after: previous, memory: "4G", walltime: "04:00:00") == ("8G", "08:00:00"))
        previous.exhausted = .node
        #expect(Submitter.resources(after: previous, memory: "4G", walltime: "04:00:00") == ("8G", nil))
    }
}

@Suite struct BatchCommands {
    /// A command that writes more errors than a pipe holds before its output ends must not hang dcprod.
    @Test func aCommandWithMuchErrorOutputIsReadToItsEnd() throws {
        let output = try Command.run("sh", ["-c", "yes x | head -c 300000 >&2; echo done"])
        #expect(output == "done\n")
        #expect(throws: BatchError.self) { try Command.run("sh", ["-c", "echo 'no such queue' >&2; exit 3"]) }
    }
}
