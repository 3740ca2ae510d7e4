#!/bin/bash
# A nightly job that must never overlap with its own previous run.
#SBATCH --job-name=nightly-eval
#SBATCH --dependency=singleton
#SBATCH --begin=midnight
#SBATCH --time=3:00:00

python3 nightly.py
