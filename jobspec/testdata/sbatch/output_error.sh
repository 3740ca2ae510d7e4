#!/bin/bash
# Logs to named files: nai writes the downloaded logs there.
#SBATCH --job-name=logged
#SBATCH --output=logs/%x-%j.out
#SBATCH --error=logs/%x-%j.err
#SBATCH --time=5

echo "to stdout"
echo "to stderr" >&2
env | grep -E '^(SLURM|PET)_' | sort
