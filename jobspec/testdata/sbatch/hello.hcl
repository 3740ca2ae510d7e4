# Converted from hello.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "hello" {
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
# The smallest useful script: a name, a time limit, and what the job sees.
#SBATCH --job-name=hello
#SBATCH --time=5

echo "hello from $(hostname) in $PWD"
env | grep -E '^(SLURM|PET)_' | sort
EOT
  }
}
