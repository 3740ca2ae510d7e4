#!/bin/bash
#SBATCH --time=UNLIMITED
#SBATCH --job-name=notebook-server
#SBATCH --nodes=2-4
#SBATCH --ntasks=6

jupyter lab --no-browser --port 8888
