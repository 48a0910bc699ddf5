#!/bin/sh
# The task of a dcprod job array (BACKEND slurm or sge): task N of the array (SLURM_ARRAY_TASK_ID + 1,
# or SGE_TASK_ID, which counts from 1) runs line N of the list file given as $1, which names a job's
# batch script, its attempt, its token and its output file:
#   SCRIPT|ATTEMPT|TOKEN|OUTPUT
# The array's directives are those of the jobs' own scripts, passed to sbatch or qsub by dcprod.
if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then task=$((SLURM_ARRAY_TASK_ID + 1)); else task=${SGE_TASK_ID:-}; fi
line=$(sed -n "${task}p" "$1")
[ -n "$line" ] || { echo "dcprod array task ${task:-?}: no line in $1" >&2; exit 3; }
script=${line%%|*}; rest=${line#*|}
DCPROD_ATTEMPT=${rest%%|*}; rest=${rest#*|}
DCPROD_TOKEN=${rest%%|*}; output=${rest#*|}
export DCPROD_ATTEMPT DCPROD_TOKEN
exec /bin/sh "$script" >>"$output" 2>&1
