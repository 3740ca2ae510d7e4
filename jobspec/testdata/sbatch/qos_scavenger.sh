#!/bin/bash
# Scavenger work: lowest priority, and preemptible.
#SBATCH --job-name=hyperopt-bg
#SBATCH --qos=scavenger
#SBATCH --gres=gpu:1
#SBATCH --requeue

python3 hyperopt_worker.py
