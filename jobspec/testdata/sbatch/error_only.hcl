# Converted from error_only.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "errs" {
  queue    = "default"
  priority = 50
  code     = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# With --error alone, stdout goes where Slurm puts it by default.
#SBATCH --job-name=errs
#SBATCH --error=errors-%j.txt
#SBATCH --output=none

python3 noisy.py
EOT
  }

  logs {
    stdout = "/dev/null"
    stderr = "errors-%j.txt"
  }
}
