#!/bin/bash
# A partition is a nai queue; a QOS is a priority tier.
#SBATCH --partition=interactive,gpu
#SBATCH --qos=high
#SBATCH --job-name=debug-run
#SBATCH --time=20

python3 debug.py
