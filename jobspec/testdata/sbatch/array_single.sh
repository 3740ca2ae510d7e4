#!/bin/bash
# An array of one: rerun a single failed task of an earlier array.
#SBATCH --job-name=rerun-7
#SBATCH --array=7

python3 train.py --fold "$SLURM_ARRAY_TASK_ID"
