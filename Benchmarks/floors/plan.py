#!/usr/bin/env python3
"""The floor for `dcprod plan processCcd`: a plain Python script that lists the same frames out of
the state store, groups them EVENTSPERJOB a job and writes one manifest per job, the same JSON
dcprod writes (with --scripts, a batch script per job too; no state recorded).

    floors/plan.py STATE OUT_DIR DCPROD TREE DATA_DIR REFCAT [--per-job N] [--scripts]
"""
import argparse, json, os, sqlite3


def main():
    ap = argparse.ArgumentParser()
    for name in ("state", "out", "dcprod", "tree", "data", "refcat"):
        ap.add_argument(name)
    ap.add_argument("--per-job", type=int, default=250)
    ap.add_argument("--scripts", action="store_true")
    a = ap.parse_args()
    db = sqlite3.connect(a.state)
    os.makedirs(a.out, exist_ok=True)
    q = lambda s: json.dumps(s, ensure_ascii=False)
    for (filt,) in db.execute("SELECT DISTINCT filter FROM event WHERE step = 'processCcd' ORDER BY filter").fetchall():
        out = f"{a.data}/processCcd/{filt}"
        rows = db.execute("SELECT e.key, f.path, f.run, f.camcol, f.field FROM event e JOIN frame f ON f.id = e.frameId "
                          "WHERE e.step = 'processCcd' AND e.filter = ? ORDER BY e.key", (filt,)).fetchall()
        for number, start in enumerate(range(0, len(rows), a.per_job), 1):
            job = f"processCcd-{filt}-{number:06d}"
            head = (f'{{"version":1,"job":{q(job)},"step":"processCcd","filter":{q(filt)},'
                    f'"rules":{q(a.tree + "/templates/rules/reference.rules")},"classes":{q(a.tree + "/templates/rules/classes")},'
                    f'"timeLimit":600.0,"outcomes":{q(f"{a.tree}/steps/processCcd/{filt}/outcomes")},'
                    f'"logs":{q(f"{a.tree}/steps/processCcd/{filt}/logs")},"events":[')
            events = []
            for key, path, run, camcol, field in rows[start:start + a.per_job]:
                stem = f"{run:06d}-{filt}{camcol}-{field:04d}"
                command = [a.dcprod, "pipe", "processCcd", path, "--refcat", a.refcat, "--out", out]
                outputs = [f"{out}/calexp-{stem}.fits", f"{out}/src-{stem}.csv", f"{out}/ccd-{stem}.csv"]
                events.append(f'\n{{"key":{q(key)},"command":[{",".join(map(q, command))}],"outputs":[{",".join(map(q, outputs))}]}}')
            tmp = f"{a.out}/.{job}.json.tmp"
            with open(tmp, "w") as f:
                f.write(head + ",".join(events) + "]}\n")
            os.rename(tmp, f"{a.out}/{job}.json")
            if a.scripts:
                script = f"{a.out}/{job}.local.sh"
                with open(f"{script}.tmp", "w") as f:
                    f.write(f"#!/bin/sh\nexec '{a.dcprod}' job run '{a.out}/{job}.json' --attempt \"${{DCPROD_ATTEMPT:-1}}\"\n")
                os.chmod(f"{script}.tmp", 0o755)
                os.rename(f"{script}.tmp", script)


if __name__ == "__main__":
    main()
