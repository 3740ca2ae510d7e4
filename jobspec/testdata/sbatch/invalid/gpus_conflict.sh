#!/bin/bash
#SBATCH --gres=gpu:2
#SBATCH --gpus-per-node=4
echo never
