# Converted from time_formats.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "long-haul" {
  queue      = "default"
  priority   = 50
  time_limit = "30h30m15s"
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# D-HH:MM:SS; the last --time given wins, as in sbatch.
#SBATCH --time=10
#SBATCH --time=1-06:30:15
#SBATCH --job-name=long-haul

python3 train.py --epochs 300
EOT
  }
}
