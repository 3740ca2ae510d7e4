#!/bin/bash
#SBATCH --job-name=scratch-run
#SBATCH -D /scratch/alice/run42
#SBATCH --export=ALL
#SBATCH --begin=now+90minutes

./run.sh
