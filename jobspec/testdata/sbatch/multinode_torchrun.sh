#!/bin/bash
# The usual Slurm recipe for torchrun: one launcher per node through srun.
# On nai the script already runs once on each node, with PET_* set, so the
# srun line gets a warning and plain torchrun forms the world by itself.
#SBATCH --job-name=resnet-ddp
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=1
#SBATCH --gres=gpu:8
#SBATCH --cpus-per-task=64
#SBATCH --mem=0
#SBATCH --time=08:00:00

export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export MASTER_PORT=29500
srun torchrun --nnodes="$SLURM_NNODES" --nproc_per_node=8 --rdzv_endpoint="$MASTER_ADDR:$MASTER_PORT" train.py
