# Converted from gpu_typed.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "bert-large" {
  queue      = "gpu"
  priority   = 50
  time_limit = "48h"
  code       = "."

  resources {
    cpu    = 32
    memory = "256GiB"
    gpu {
      count = 4
      model = "a100"
    }
  }

  task {
    script = <<EOT
#!/bin/bash
#SBATCH --job-name=bert-large
#SBATCH --partition=gpu
#SBATCH --gres=gpu:a100:4
#SBATCH --cpus-per-task=32
#SBATCH --mem=256G
#SBATCH --time=2-00:00:00

module load cuda/12.2
python3 -m torch.distributed.run --standalone --nproc_per_node=4 pretrain.py --config configs/bert-large.yaml
EOT
  }
}
