# Converted from gpus_total.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "vit-huge" {
  queue      = "default"
  priority   = 50
  time_limit = "36h"
  code       = "."

  resources {
    cpu    = 24
    memory = "1GiB"
    nodes  = 2
    gpu {
      count = 4
    }
  }

  task {
    script = <<EOT
#!/bin/bash
# --gpus counts GPUs over the whole job: eight over two nodes is four each.
#SBATCH -J vit-huge
#SBATCH -N 2
#SBATCH -G 8
#SBATCH --gpus-per-task=4
#SBATCH --cpus-per-gpu=6
#SBATCH -t 1-12

torchrun --nproc_per_node=4 train_vit.py
EOT
  }
}
