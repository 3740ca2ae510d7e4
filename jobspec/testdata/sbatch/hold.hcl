# Converted from hold.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "held-train" {
  queue      = "default"
  priority   = 50
  time_limit = "1h"
  hold       = true
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
    gpu {
      count = 1
    }
  }

  task {
    script = <<EOT
#!/bin/bash
# Submitted held (sbatch -H): it waits until nai job release.
#SBATCH --job-name=held-train
#SBATCH -H
#SBATCH --gres=gpu:1
#SBATCH --time=1:00:00

python3 train.py
EOT
  }
}
