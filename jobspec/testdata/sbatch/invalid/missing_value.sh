#!/bin/bash
#SBATCH --job-name=x --time
#SBATCH -p
echo never
