#!/bin/bash
# Runs only if job 250 fails: send the diagnostics somewhere safe.
#SBATCH -J on-failure
#SBATCH -d afternotok:250
#SBATCH -t 5

tar czf "$NAI_OUTPUT_DIR/diagnostics.tar.gz" logs/
