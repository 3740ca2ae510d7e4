# Converted from gpu_gres.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "finetune" {
  queue      = "default"
  priority   = 50
  time_limit = "30m"
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
    gpu {
      count = 2
    }
  }

  task {
    script = <<EOT
#!/bin/bash
# Two GPUs of any kind on one node, in the old --gres form.
#SBATCH --job-name=finetune
#SBATCH --gres=gpu:2
#SBATCH --time=0:30:00

nvidia-smi -L || true
echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"
env | grep -E '^(SLURM|PET)_' | sort
EOT
  }
}
