# Converted from output_error.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "logged" {
  queue      = "default"
  priority   = 50
  time_limit = "5m"
  code       = "."

  resources {
    cpu    = 1
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
# Logs to named files: nai writes the downloaded logs there.
#SBATCH --job-name=logged
#SBATCH --output=logs/%x-%j.out
#SBATCH --error=logs/%x-%j.err
#SBATCH --time=5

echo "to stdout"
echo "to stderr" >&2
env | grep -E '^(SLURM|PET)_' | sort
EOT
  }

  logs {
    stdout = "logs/%x-%j.out"
    stderr = "logs/%x-%j.err"
  }
}
