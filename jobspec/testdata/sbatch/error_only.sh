#!/bin/bash
# With --error alone, stdout goes where Slurm puts it by default.
#SBATCH --job-name=errs
#SBATCH --error=errors-%j.txt
#SBATCH --output=none

python3 noisy.py
