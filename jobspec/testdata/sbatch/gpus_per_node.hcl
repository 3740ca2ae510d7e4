# Converted from gpus_per_node.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "llm-ddp" {
  queue      = "default"
  priority   = 50
  time_limit = "12h"
  code       = "."

  resources {
    cpu       = 32
    memory    = "320GiB"
    nodes     = 2
    exclusive = true
    gpu {
      count = 4
      model = "h100"
    }
  }

  task {
    nproc_per_node = 4
    script         = <<EOT
#!/bin/bash
# Two nodes of four H100s, one task per GPU, memory asked per GPU.
#SBATCH --job-name=llm-ddp
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --gpus-per-node=h100:4
#SBATCH --cpus-per-task=8
#SBATCH --mem-per-gpu=80G
#SBATCH --time=12:00:00
#SBATCH --exclusive

torchrun train.py --model llama-7b
EOT
  }
}
