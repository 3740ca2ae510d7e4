#!/bin/bash
# A two-node data-parallel job, written as a Slurm batch script: on nai it
# runs once on each node, with the gang's shape in PET_* (torchrun's own
# defaults), so `torchrun allreduce.py` alone would form one world of
# NNODES x NPROC_PER_NODE ranks. Debian's torch 1.13 torchrun crashes on
# Python 3.11 before any rank starts (its elastic agent), so this script
# starts the ranks of its node itself, from the same variables.
#SBATCH --job-name=ddp-allreduce
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=2
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=10

echo "node $PET_NODE_RANK of $PET_NNODES ($SLURMD_NODENAME): starting $PET_NPROC_PER_NODE ranks, rendezvous at $PET_MASTER_ADDR:$PET_MASTER_PORT"
pids=()
for ((i = 0; i < PET_NPROC_PER_NODE; i++)); do
  MASTER_ADDR=$PET_MASTER_ADDR MASTER_PORT=$PET_MASTER_PORT \
    WORLD_SIZE=$((PET_NNODES * PET_NPROC_PER_NODE)) RANK=$((PET_NODE_RANK * PET_NPROC_PER_NODE + i)) LOCAL_RANK=$i \
    python3 allreduce.py &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit $status
