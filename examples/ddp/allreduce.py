"""One rank of the DDP example: join the world (gloo, env:// rendezvous),
all-reduce a tensor, check the sum, and say what it saw."""

import os
import sys

import torch
import torch.distributed as dist


def main() -> int:
    dist.init_process_group("gloo", init_method="env://")
    rank, world = dist.get_rank(), dist.get_world_size()
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)  # sum over every rank of both nodes
    want = world * (world + 1) / 2
    pet = " ".join(f"{k}={os.environ.get(k, '')}" for k in
                   ("PET_NNODES", "PET_NODE_RANK", "PET_MASTER_ADDR", "PET_MASTER_PORT", "PET_NPROC_PER_NODE"))
    print(f"rank {rank} world {world} sum {t.item():g} want {want:g} {pet}", flush=True)
    dist.barrier()
    dist.destroy_process_group()
    return 0 if t.item() == want else 1


if __name__ == "__main__":
    sys.exit(main())
