#!/bin/bash
#SBATCH --time=5
