#!/bin/bash
# Evaluate once training jobs 101 and 102 succeed and cleanup 103 has ended.
#SBATCH --job-name=evaluate
#SBATCH --dependency=afterok:101:102,afterany:103
#SBATCH --time=45

python3 evaluate.py --checkpoints checkpoints/
