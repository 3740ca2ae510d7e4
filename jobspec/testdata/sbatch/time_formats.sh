#!/bin/bash
# D-HH:MM:SS; the last --time given wins, as in sbatch.
#SBATCH --time=10
#SBATCH --time=1-06:30:15
#SBATCH --job-name=long-haul

python3 train.py --epochs 300
