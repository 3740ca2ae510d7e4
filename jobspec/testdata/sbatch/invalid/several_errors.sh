#!/bin/bash
# Every problem is reported at once, each at its line and column.
#SBATCH -t 1:2:3:4 --nodes=zero
#SBATCH --array=0-3:0 --cpus-per-task=-1
#SBATCH --dependency=after:12
echo never
