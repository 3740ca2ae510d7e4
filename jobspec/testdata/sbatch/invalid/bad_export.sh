#!/bin/bash
#SBATCH --export=1BAD=x,GOOD=y
echo never
