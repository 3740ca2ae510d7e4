#!/bin/bash
#SBATCH --mem=lots
echo never
