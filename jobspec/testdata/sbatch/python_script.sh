#!/usr/bin/env python3
# Slurm runs a batch script with the interpreter its #! line names; so does nai.
#SBATCH --job-name=pyjob
#SBATCH --cpus-per-task=1
#SBATCH --time=2
import os

print("SLURM_JOB_ID=" + os.environ.get("SLURM_JOB_ID", ""))
