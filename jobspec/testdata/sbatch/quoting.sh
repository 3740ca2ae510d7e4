#!/bin/bash
# Quotes group words, a backslash escapes, and an unquoted # starts a comment.
#SBATCH --job-name="quoted name"   # becomes quoted-name
#SBATCH --comment='it'"'"'s a test'
#SBATCH --output=logs/run\ %j.out # an escaped space
#SBATCH --export=GREETING="hello world"
#SBATCH
  #SBATCH --time=5

echo "$GREETING"
