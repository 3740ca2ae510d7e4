#!/bin/bash
#SBATCH --dependency=afterok:1?afterok:2
echo never
