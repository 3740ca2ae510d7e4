# Converted from singleton.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "nightly-eval" {
  queue       = "default"
  priority    = 50
  time_limit  = "3h"
  begin_after = "2026-01-01T00:00:00Z"
  singleton   = true
  code        = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# A nightly job that must never overlap with its own previous run.
#SBATCH --job-name=nightly-eval
#SBATCH --dependency=singleton
#SBATCH --begin=midnight
#SBATCH --time=3:00:00

python3 nightly.py
EOT
  }
}
