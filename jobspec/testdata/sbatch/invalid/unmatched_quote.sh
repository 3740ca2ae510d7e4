#!/bin/bash
#SBATCH --job-name="never closed
echo never
