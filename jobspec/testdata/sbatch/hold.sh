#!/bin/bash
# Submitted held (sbatch -H): it waits until nai job release.
#SBATCH --job-name=held-train
#SBATCH -H
#SBATCH --gres=gpu:1
#SBATCH --time=1:00:00

python3 train.py
