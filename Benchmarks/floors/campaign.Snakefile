# Snakemake's run of the DAG `dcprod run` ran in Benchmarks/campaign (its --snakemake VENV floor): the events
# of processCcd, coadd and forcedPhot, each needing the outputs of the events it was planned on (the state
# store's event_input), each running the same payload with the same arguments (Benchmarks/campaign-payload,
# read from dcprod's manifests) into a directory of its own (config out).
#
# config jobs=event (the default): one rule per step, one rule instance (one job) per event, as a Snakemake
# user would write it; Snakemake ignores `group` when it runs locally, so its jobs cannot hold several.
# config jobs=dcprod: dcprod's own jobs, one rule each (made in a loop), running the payload for each of its
# events in turn, as dcprod's job runner does.
#
# config dag: a JSON file the benchmark writes:
#   {"payload": PATH, "events": {step: {filter: {name: {"args": [...], "inputs": [[step, filter, name], ...]}}}},
#    "jobs": {job: [step, filter, [name, ...]]}}
# where name is the stem (processCcd, forcedPhot) or the patch key (coadd).
import json, shlex  # (the Snakefile runs in the namespace of snakemake.workflow: DAG is its own)

with open(config["dag"]) as f:
    CHAIN = json.load(f)
OUT, PAYLOAD, EVENTS = config["out"], CHAIN["payload"], CHAIN["events"]
# Each step's outputs, as its template in Benchmarks/campaign names them.
OUTPUTS = {
    "processCcd": ["calexp-{name}.fits", "src-{name}.csv", "ccd-{name}.csv"],
    "coadd": ["deepCoadd-{name}-{filt}.fits", "deepsrc-{name}-{filt}.csv", "coadd-{name}-{filt}.csv"],
    "forcedPhot": ["forced-{name}.csv"],
}

wildcard_constraints:
    filt = "[a-z]",
    name = "[^/]+",


def outputs(step, filt, name):
    return [f"{OUT}/{step}/{filt}/" + pattern.format(name=name, filt=filt) for pattern in OUTPUTS[step]]


def inputs(step, filt, name):
    """The outputs of the events an event was planned on."""
    return [o for s, f, n in EVENTS[step][filt][name]["inputs"] for o in outputs(s, f, n)]


def command(step, filt, name):
    return " ".join(shlex.quote(a) for a in ["/bin/sh", PAYLOAD, step, f"{OUT}/{step}/{filt}", name] + EVENTS[step][filt][name]["args"])


rule all:
    input: [outputs(step, filt, name)[0] for step, filters in EVENTS.items() for filt, names in filters.items() for name in names]

if config.get("jobs", "event") == "event":
    rule processCcd:
        input: lambda w: inputs("processCcd", w.filt, w.name)
        output: [f"{OUT}/processCcd/{{filt}}/" + pattern for pattern in OUTPUTS["processCcd"]]
        params: command = lambda w: command("processCcd", w.filt, w.name)
        shell: "{params.command}"

    rule coadd:
        input: lambda w: inputs("coadd", w.filt, w.name)
        output: [f"{OUT}/coadd/{{filt}}/" + pattern for pattern in OUTPUTS["coadd"]]
        params: command = lambda w: command("coadd", w.filt, w.name)
        shell: "{params.command}"

    rule forcedPhot:
        input: lambda w: inputs("forcedPhot", w.filt, w.name)
        output: [f"{OUT}/forcedPhot/{{filt}}/" + pattern for pattern in OUTPUTS["forcedPhot"]]
        params: command = lambda w: command("forcedPhot", w.filt, w.name)
        shell: "{params.command}"
else:
    for job, (step, filt, names) in CHAIN["jobs"].items():
        rule:
            name: job.replace("-", "_")
            input: list(dict.fromkeys(o for name in names for o in inputs(step, filt, name)))
            output: [o for name in names for o in outputs(step, filt, name)]
            params: command = "\n".join(command(step, filt, name) for name in names)
            shell: "{params.command}"
