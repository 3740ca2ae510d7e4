#!/bin/bash
#SBATCH --array=0-999999
echo never
