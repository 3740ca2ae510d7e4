# Converted from partition_qos.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "debug-run" {
  queue      = "interactive"
  priority   = 75
  time_limit = "20m"
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# A partition is a nai queue; a QOS is a priority tier.
#SBATCH --partition=interactive,gpu
#SBATCH --qos=high
#SBATCH --job-name=debug-run
#SBATCH --time=20

python3 debug.py
EOT
  }
}
