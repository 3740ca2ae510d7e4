#!/bin/bash
# Ranges, single ids and a repeat (counted once, as Slurm does).
#SBATCH --job-name=shards
#SBATCH --array=0-3,10,20-30:5,3%3
#SBATCH --output=logs/shard-%A_%3a.out

python3 preprocess.py --shard "$SLURM_ARRAY_TASK_ID"
