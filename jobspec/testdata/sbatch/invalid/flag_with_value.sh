#!/bin/bash
#SBATCH --no-requeue=yes --exclusive=sometimes
echo never
