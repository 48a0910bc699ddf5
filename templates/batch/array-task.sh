#!/bin/sh
# The task of a dcprod job array (BACKEND slurm or sge): task N of the array (SLURM_ARRAY_TASK_ID + 1,
# or SGE_TASK_ID, which counts from 1) runs line N of the list file given as $1, which names a job's
# batch script, its attempt, its token and its output file, separated by tabs (a path may hold `|`):
#   SCRIPT<TAB>ATTEMPT<TAB>TOKEN<TAB>OUTPUT
# The array's directives are those of the jobs' own scripts, passed to sbatch or qsub by dcprod.
if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then task=$((SLURM_ARRAY_TASK_ID + 1)); else task=${SGE_TASK_ID:-}; fi
line=$(sed -n "${task}p" "$1")
[ -n "$line" ] || { echo "dcprod array task ${task:-?}: no line in $1" >&2; exit 3; }
tab=$(printf '\t')
script=${line%%"$tab"*}; rest=${line#*"$tab"}
DCPROD_ATTEMPT=${rest%%"$tab"*}; rest=${rest#*"$tab"}
DCPROD_TOKEN=${rest%%"$tab"*}; output=${rest#*"$tab"}
export DCPROD_ATTEMPT DCPROD_TOKEN
exec /bin/sh "$script" >>"$output" 2>&1
