#!/bin/bash
# Every short form nai reads, with values attached and apart.
#SBATCH -J short -t 15 -N1 -n 2
#SBATCH -c2 -G 1 -p default
#SBATCH -o out.log -e err.log
#SBATCH -a 1-3 -d afterany:7 -D work -q low

python3 work.py
