#!/bin/bash
# The smallest useful script: a name, a time limit, and what the job sees.
#SBATCH --job-name=hello
#SBATCH --time=5

echo "hello from $(hostname) in $PWD"
env | grep -E '^(SLURM|PET)_' | sort
