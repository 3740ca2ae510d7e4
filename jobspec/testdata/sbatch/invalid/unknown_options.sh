#!/bin/bash
# Options sbatch does not have: refused, as sbatch refuses them.
#SBATCH --tim=10
#SBATCH --tmie=10
#SBATCH --frobnicate 3
#SBATCH -X
#SBATCH --mem-per=4G
python3 train.py
