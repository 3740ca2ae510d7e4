#!/bin/bash
#SBATCH --job-name=late
#SBATCH --time=10

# Comments and blank lines do not end the directives...

#SBATCH --cpus-per-task=2
echo "...but this command does"
#SBATCH --gres=gpu:4
#SBATCH --time=600
