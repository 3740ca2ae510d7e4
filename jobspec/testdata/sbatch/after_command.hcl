# Converted from after_command.sh by nai job convert: the job file that submits the same
# job. code = "." uploads the folder this file is in, as the script's own
# folder is uploaded with it, so keep the two side by side.

job "late" {
  queue      = "default"
  priority   = 50
  time_limit = "10m"
  code       = "."

  resources {
    cpu    = 2
    memory = "1GiB"
  }

  task {
    script = <<EOT
#!/bin/bash
#SBATCH --job-name=late
#SBATCH --time=10

# Comments and blank lines do not end the directives...

#SBATCH --cpus-per-task=2
echo "...but this command does"
#SBATCH --gres=gpu:4
#SBATCH --time=600
EOT
  }
}
