#!/bin/bash
#SBATCH --job-name=scheduled
#SBATCH --begin=2026-03-01T09:00
#SBATCH --export=WANDB_PROJECT,SEED=1234,WANDB_API_KEY
#SBATCH --chdir=src
#SBATCH --comment="weekly retrain"

python3 train.py --seed "$SEED"
