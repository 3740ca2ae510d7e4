#!/bin/bash
#SBATCH --job-name=bad-time
#SBATCH --time=bogus
echo never
