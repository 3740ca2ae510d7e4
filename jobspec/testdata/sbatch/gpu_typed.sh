#!/bin/bash
#SBATCH --job-name=bert-large
#SBATCH --partition=gpu
#SBATCH --gres=gpu:a100:4
#SBATCH --cpus-per-task=32
#SBATCH --mem=256G
#SBATCH --time=2-00:00:00

module load cuda/12.2
python3 -m torch.distributed.run --standalone --nproc_per_node=4 pretrain.py --config configs/bert-large.yaml
