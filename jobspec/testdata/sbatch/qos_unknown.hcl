# Converted from qos_unknown.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "site-qos" {
  queue      = "default"
  priority   = 50
  time_limit = "168h"
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
#SBATCH --job-name=site-qos
#SBATCH --qos=gpu-long
#SBATCH --time=7-00:00:00
#SBATCH --gres=gpu:1

python3 long_train.py
EOT
  }
}
