#!/bin/bash
# Two GPUs of any kind on one node, in the old --gres form.
#SBATCH --job-name=finetune
#SBATCH --gres=gpu:2
#SBATCH --time=0:30:00

nvidia-smi -L || true
echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"
env | grep -E '^(SLURM|PET)_' | sort
