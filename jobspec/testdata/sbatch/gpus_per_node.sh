#!/bin/bash
# Two nodes of four H100s, one task per GPU, memory asked per GPU.
#SBATCH --job-name=llm-ddp
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --gpus-per-node=h100:4
#SBATCH --cpus-per-task=8
#SBATCH --mem-per-gpu=80G
#SBATCH --time=12:00:00
#SBATCH --exclusive

torchrun train.py --model llama-7b
