#!/bin/bash
# --gpus counts GPUs over the whole job: eight over two nodes is four each.
#SBATCH -J vit-huge
#SBATCH -N 2
#SBATCH -G 8
#SBATCH --gpus-per-task=4
#SBATCH --cpus-per-gpu=6
#SBATCH -t 1-12

torchrun --nproc_per_node=4 train_vit.py
