#!/bin/bash
# 4 tasks of 3 CPUs with 2 GiB per CPU: 12 CPUs and 24 GiB on the node.
#SBATCH --job-name=dataload
#SBATCH --ntasks=4
#SBATCH --cpus-per-task=3
#SBATCH --mem-per-cpu=2G
#SBATCH --tmp=100G

python3 build_shards.py --workers 12
