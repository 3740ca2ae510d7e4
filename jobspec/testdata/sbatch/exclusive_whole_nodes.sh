#!/bin/bash
#SBATCH --job-name=benchmark
#SBATCH --exclusive=user
#SBATCH --nodes=1
#SBATCH --gpus=8
#SBATCH --mem=500G

python3 bench.py --all-gpus
