#!/bin/bash
# Without --error, stderr goes to the --output file too.
#SBATCH -J merged
#SBATCH -o run-%j-%u-%N.log

python3 train.py 2>&1
