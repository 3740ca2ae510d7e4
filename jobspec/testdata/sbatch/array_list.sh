#!/bin/bash
#SBATCH -J seeds
#SBATCH -a 1,3,5,7,11
#SBATCH -t 30:00
#SBATCH --cpus-per-task=2
#SBATCH --mem=8000

python3 train.py --seed "$SLURM_ARRAY_TASK_ID"
