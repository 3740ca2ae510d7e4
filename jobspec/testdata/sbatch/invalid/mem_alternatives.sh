#!/bin/bash
#SBATCH --mem=16G
#SBATCH --mem-per-gpu=8G
#SBATCH --gres=gpu:2
echo never
