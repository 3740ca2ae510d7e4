#!/bin/bash
#SBATCH --job-name=site-qos
#SBATCH --qos=gpu-long
#SBATCH --time=7-00:00:00
#SBATCH --gres=gpu:1

python3 long_train.py
